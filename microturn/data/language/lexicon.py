"""The open lexicon: named tables of items (countries, foods, places, cue words ...) that fill
the templates' slots, each item with its facts, and drawing items of one split.

A table is written `key=value/value; key=value`: the key is the item (its text decides its
split), the values are what the grammar says about it (a capital, a colour, a leg count ...).
"""

from __future__ import annotations

import random
from functools import cache

from microturn.data.language.splits import check_split, split_of_item


def _table(spec: str) -> dict[str, tuple[str, ...]]:
    """'key=a/b; key two=c' -> {'key': ('a', 'b'), 'key two': ('c',)}; 'key' alone -> ()."""
    out = {}
    for entry in " ".join(spec.split()).split(";"):
        key, _, val = entry.partition("=")
        if key.strip():
            out[key.strip()] = tuple(v.strip() for v in val.split("/")) if val else ()
    return out


TABLES: dict[str, dict[str, tuple[str, ...]]] = {
    "country": _table("""france=paris; germany=berlin; italy=rome; spain=madrid; portugal=lisbon;
        japan=tokyo; china=beijing; india=new delhi; russia=moscow; egypt=cairo; kenya=nairobi;
        canada=ottawa; mexico=mexico city; brazil=brasilia; argentina=buenos aires; peru=lima;
        chile=santiago; australia=canberra; new zealand=wellington; ireland=dublin;
        england=london; scotland=edinburgh; wales=cardiff; norway=oslo; sweden=stockholm;
        finland=helsinki; denmark=copenhagen; poland=warsaw; austria=vienna; greece=athens;
        turkey=ankara; hungary=budapest; belgium=brussels; switzerland=bern; iceland=reykjavik;
        thailand=bangkok; vietnam=hanoi; south korea=seoul; indonesia=jakarta; cuba=havana;
        colombia=bogota; venezuela=caracas; nigeria=abuja; ghana=accra; morocco=rabat;
        ethiopia=addis ababa; iran=tehran; pakistan=islamabad; ukraine=kyiv; romania=bucharest;
        bulgaria=sofia; croatia=zagreb; serbia=belgrade; jamaica=kingston; nepal=kathmandu"""),
    "object": _table("""banana=a banana/yellow; lemon=a lemon/yellow; grass=grass/green;
        sky=the sky/blue; snow=snow/white; coal=coal/black; tomato=a tomato/red;
        strawberry=a strawberry/red; carrot=a carrot/orange; pumpkin=a pumpkin/orange;
        cucumber=a cucumber/green; lime=a lime/green; crow=a crow/black; milk=milk/white;
        polar bear=a polar bear/white; chocolate=chocolate/brown; blueberry=a blueberry/blue;
        eggplant=an eggplant/purple; plum=a plum/purple; cherry=a cherry/red;
        fire truck=a fire truck/red; school bus=a school bus/yellow; flamingo=a flamingo/pink;
        pig=a pig/pink; pea=a pea/green; elephant=an elephant/grey; cloud=a cloud/white;
        ruby=a ruby/red; emerald=an emerald/green; sapphire=a sapphire/blue;
        zebra=a zebra/black and white; panda=a panda/black and white; salt=salt/white;
        egg yolk=an egg yolk/yellow; penguin=a penguin/black and white; walnut=a walnut/brown;
        ladybird=a ladybird/red; broccoli=broccoli/green; sunflower=a sunflower/yellow;
        lavender=lavender/purple; mud=mud/brown; canary=a canary/yellow"""),
    "opposite": _table("""hot=cold; cold=hot; big=small; small=big; tall=short; fast=slow;
        slow=fast; happy=sad; sad=happy; dark=light; open=closed; closed=open; full=empty;
        empty=full; wet=dry; dry=wet; soft=hard; loud=quiet; quiet=loud; rich=poor; poor=rich;
        early=late; late=early; strong=weak; weak=strong; thick=thin; thin=thick; heavy=light;
        clean=dirty; dirty=clean; cheap=expensive; expensive=cheap; easy=difficult;
        difficult=easy; long=short; deep=shallow; shallow=deep; high=low; low=high; young=old;
        true=false; false=true; push=pull; pull=push; always=never; never=always; awake=asleep;
        asleep=awake; safe=dangerous; dangerous=safe; smooth=rough; rough=smooth; wide=narrow;
        narrow=wide; tight=loose; loose=tight; sharp=blunt; blunt=sharp; noisy=silent"""),
    "animal": _table("""dog=a dog/woof; cat=a cat/meow; cow=a cow/moo; sheep=a sheep/baa;
        duck=a duck/quack; pig=a pig/oink; horse=a horse/neigh; lion=a lion/roar;
        owl=an owl/hoot; snake=a snake/hiss; bee=a bee/buzz; mouse=a mouse/squeak;
        frog=a frog/ribbit; rooster=a rooster/cock a doodle doo; donkey=a donkey/hee haw;
        wolf=a wolf/howl; crow=a crow/caw; chicken=a chicken/cluck; turkey=a turkey/gobble;
        dove=a dove/coo; bear=a bear/growl; goose=a goose/honk; cricket=a cricket/chirp;
        bird=a bird/tweet; tiger=a tiger/roar; goat=a goat/baa"""),
    "counted": _table("""spider=a spider/legs/8; ant=an ant/legs/6; bee=a bee/legs/6;
        beetle=a beetle/legs/6; butterfly=a butterfly/legs/6; fly=a fly/legs/6; dog=a dog/legs/4;
        cat=a cat/legs/4; horse=a horse/legs/4; cow=a cow/legs/4; elephant=an elephant/legs/4;
        frog=a frog/legs/4; lizard=a lizard/legs/4; chicken=a chicken/legs/2; duck=a duck/legs/2;
        ostrich=an ostrich/legs/2; penguin=a penguin/legs/2; crab=a crab/legs/10;
        scorpion=a scorpion/legs/8; snake=a snake/legs/0; octopus=an octopus/arms/8;
        starfish=a starfish/arms/5; bicycle=a bicycle/wheels/2; tricycle=a tricycle/wheels/3;
        unicycle=a unicycle/wheels/1; car=a car/wheels/4; triangle=a triangle/sides/3;
        square=a square/sides/4; pentagon=a pentagon/sides/5; hexagon=a hexagon/sides/6;
        octagon=an octagon/sides/8; rectangle=a rectangle/sides/4; guitar=a guitar/strings/6;
        violin=a violin/strings/4; hand=a hand/fingers/5; tripod=a tripod/legs/3;
        person=a person/legs/2"""),
    "noun": _table("""mouse=mice; child=children; foot=feet; tooth=teeth; goose=geese; man=men;
        woman=women; sheep=sheep; fish=fish; deer=deer; person=people; ox=oxen; cactus=cacti;
        knife=knives; leaf=leaves; wolf=wolves; half=halves; loaf=loaves; box=boxes; bus=buses;
        fox=foxes; baby=babies; city=cities; party=parties; potato=potatoes; tomato=tomatoes;
        hero=heroes; church=churches; dish=dishes; watch=watches; glass=glasses; dress=dresses;
        toy=toys; key=keys; book=books; house=houses; bench=benches; story=stories;
        lady=ladies; shelf=shelves; calf=calves; moose=moose; cherry=cherries; wife=wives;
        thief=thieves"""),
    "sized": _table("""pea=a pea/0; ant=an ant/0; grape=a grape/0; coin=a coin/1; bee=a bee/1;
        mouse=a mouse/2; apple=an apple/2; football=a football/3; rabbit=a rabbit/3;
        watermelon=a watermelon/3; cat=a cat/4; chicken=a chicken/4; dog=a dog/5;
        chair=a chair/5; sheep=a sheep/6; pig=a pig/6; cow=a cow/7; horse=a horse/7;
        bear=a bear/7; car=a car/8; giraffe=a giraffe/9; elephant=an elephant/9; bus=a bus/9;
        whale=a whale/11; house=a house/11; ship=a ship/12; mountain=a mountain/14;
        moon=the moon/16; earth=the earth/17; sun=the sun/19"""),
    "name": _table(
        ";".join(
            """anna maria john sam david sarah james emma lucy peter paul mark
        laura kate tom ben jack oliver sophie grace chloe ella mia noah liam ethan lily ruby amy
        hannah rachel daniel michael chris alex nina leo max oscar harry george rose alice
        claire helen simon adam jake luke ryan matt dan joe emily olivia jessica megan katie
        tina carlos diego sofia lucas marco elena ivan omar ali yusuf priya ravi mei ken hiro
        aisha fatima zoe jade""".split()
        )
    ),
    "food": _table("""pizza; pasta; rice; soup; salad; toast; pancakes; noodles; sushi; tacos;
        curry; eggs; cereal; porridge; yoghurt; chips; burgers; dumplings; steak; lasagne;
        waffles; oatmeal; falafel; stew; beans; potatoes; carrots; bananas; apples; grapes;
        strawberries; oranges; cookies; chocolate; ice cream; cake; muffins; bagels; cheese;
        ham; tuna; lentils; spinach; broccoli; mushrooms; onions; tomatoes; biscuits;
        sandwiches; fish"""),
    "place": _table("""market; park; library; gym; bank; post office; supermarket; bakery; beach;
        station; airport; museum; cinema; dentist; hospital; pharmacy; office; school; zoo;
        garage; hairdresser; pool; cafe; restaurant; hardware store; farm; lake; mall;
        garden centre; city centre; playground; stadium; theatre; church; bus stop; bookshop;
        butcher; laundromat; harbour"""),
    "person": _table("""mother; father; mum; dad; sister; brother; neighbour; friend; boss;
        cousin; aunt; uncle; grandmother; grandfather; grandma; grandpa; wife; husband; son;
        daughter; colleague; roommate; teacher; landlord; best friend; partner; nephew; niece;
        coach"""),
    "belonging": _table("""phone; wallet; keys; bike; laptop; bag; watch; umbrella; glasses;
        jacket; headphones; camera; passport; charger; scarf; gloves; hat; ring; backpack;
        tablet; purse; notebook"""),
    "household": _table("""salt; pepper; remote; butter; milk; bread; sugar; ketchup; mustard;
        honey; jam; napkins; water; scissors; tape; towel; newspaper; spoon; blanket; broom"""),
    "account": _table("""email; bank account; instagram account; facebook account; phone;
        computer; laptop; tablet; work email; online banking; messages; photos; cloud account;
        gaming account; shopping account"""),
    "city": _table(
        ";".join(
            """paris london berlin madrid rome tokyo sydney cairo moscow toronto
        chicago boston seattle denver miami dublin oslo lisbon vienna prague athens istanbul
        mumbai delhi beijing shanghai seoul bangkok singapore nairobi lagos lima bogota santiago
        havana vancouver montreal glasgow manchester amsterdam brussels warsaw budapest helsinki
        stockholm copenhagen edinburgh melbourne auckland dallas houston atlanta""".split()
        )
    ),
    "landmark": _table("""eiffel tower=the eiffel tower/330; statue of liberty=the statue of
        liberty/93; big ben=big ben/96; empire state building=the empire state building/443;
        burj khalifa=the burj khalifa/828; leaning tower=the leaning tower of pisa/56;
        mount everest=mount everest/8849; mount fuji=mount fuji/3776;
        kilimanjaro=mount kilimanjaro/5895; mont blanc=mont blanc/4806;
        great pyramid=the great pyramid of giza/139; space needle=the space needle/184;
        taj mahal=the taj mahal/73; london eye=the london eye/135; matterhorn=the matterhorn/4478;
        ben nevis=ben nevis/1345; shard=the shard/310; petronas towers=the petronas towers/452;
        tokyo skytree=the tokyo skytree/634; washington monument=the washington monument/169;
        arc de triomphe=the arc de triomphe/50; christ the redeemer=christ the redeemer/30"""),
    "river": _table("""nile=the river nile/6650/kilometres; amazon=the amazon river/6400/kilometres;
        thames=the river thames/346/kilometres; danube=the danube/2850/kilometres;
        mississippi=the mississippi river/3730/kilometres; rhine=the rhine/1230/kilometres;
        seine=the seine/777/kilometres; yangtze=the yangtze river/6300/kilometres;
        volga=the volga/3530/kilometres; ganges=the ganges/2525/kilometres;
        mekong=the mekong/4350/kilometres; panama canal=the panama canal/82/kilometres;
        channel tunnel=the channel tunnel/50/kilometres;
        golden gate bridge=the golden gate bridge/2737/metres;
        tower bridge=tower bridge/244/metres; brooklyn bridge=the brooklyn bridge/1834/metres;
        loire=the loire/1006/kilometres; zambezi=the zambezi/2574/kilometres;
        colorado=the colorado river/2330/kilometres; severn=the river severn/354/kilometres;
        sydney harbour bridge=the sydney harbour bridge/1149/metres"""),
    "say_word": _table(
        ";".join(
            """now go beep done ping hello breathe ready jump switch next
        bingo yes change ding boom bang pop turn clap tick blink wave hop""".split()
        )
    ),
    "cue": _table("""banana=bandana/cabana/bonanza; blue=glue/shoe/clue; apple=chapel/ample;
        river=liver/shiver/giver; candle=handle/sandal/scandal; table=label/cable/fable;
        pepper=paper/copper; rocket=pocket/locket/socket; bottle=battle/throttle;
        garden=pardon/warden; mountain=fountain/mounting; pencil=stencil/tinsel;
        window=widow/willow/winter; tiger=timer/tighter; dragon=wagon/flagon;
        pillow=willow/yellow/billow; mitten=kitten/bitten/written; button=mutton/cotton;
        parrot=carrot/barrel; ladder=letter/adder/latter; kettle=metal/nettle/settle;
        rabbit=habit/rapid; hammer=grammar/glamour; lemon=melon/lemming;
        puppy=poppy/guppy; honey=money/funny/bunny; butter=gutter/better/shutter;
        pickle=nickel/tickle/fickle; jelly=belly/telly; coffee=toffee/coughing;
        sugar=cougar/hugger; marble=garble/warble; planet=granite/blanket;
        jacket=racket/packet/bracket; wallet=ballot/mallet; ticket=thicket/picket/cricket;
        monkey=donkey/funky; cherry=berry/ferry/merry; bubble=double/trouble/rubble;
        rain=train/brain/lane; star=car/jar/scar; bell=shell/spell/well; cake=lake/snake/rake;
        moon=spoon/noon/soon; sock=clock/rock/lock; tunnel=funnel/tunic"""),
    "response": _table(
        ";".join(
            r.replace("_", " ")
            for r in """got_it yes bingo heard_it
        there_it_is okay check found_it yep ding gotcha that's_it i_heard_it present aha roger
        boom score yay here caught_it nice alright excellent hooray zap pow that's_the_one
        i_got_it beep_beep yup spotted_it correct bravo ta_da eureka on_it""".split()
        )
    ),
    "word": _table(
        ";".join(
            """book lamp chair cloud bread stone glass plate spoon fork knife
        towel shirt shoe boat train plane truck horse sheep goat duck goose mouse whale shark
        snail frog bird owl eagle tree leaf grass flower rose tulip seed root branch forest
        field hill valley island ocean lake pond bridge road street house tower castle church
        school office shop market farm barn fence gate door roof wall floor stairs bed blanket
        sofa clock watch phone radio piano drum flute violin guitar trumpet ball kite doll
        puzzle game card stamp map globe coin purse ring crown hat coat scarf glove boot belt
        needle thread brush comb soap cup mug bowl jar basket box bag rope chain nail saw drill
        bucket lantern torch match fire smoke ice snow storm wind sun planet comet robot engine
        wheel""".split()
        )
    ),
    "spanish": _table("""one=uno; two=dos; three=tres; four=cuatro; five=cinco; six=seis;
        seven=siete; eight=ocho; nine=nueve; ten=diez; eleven=once; twelve=doce; thirteen=trece;
        fourteen=catorce; fifteen=quince; sixteen=dieciséis; seventeen=diecisiete;
        eighteen=dieciocho; nineteen=diecinueve; twenty=veinte; red=rojo; blue=azul;
        green=verde; yellow=amarillo; black=negro; white=blanco; orange=naranja; purple=morado;
        pink=rosa; brown=marrón; grey=gris; dog=perro; cat=gato; horse=caballo; cow=vaca;
        pig=cerdo; bird=pájaro; fish=pez; mouse=ratón; rabbit=conejo; bear=oso; lion=león;
        tiger=tigre; monkey=mono; elephant=elefante; snake=serpiente; duck=pato; hen=gallina;
        sheep=oveja; frog=rana; bee=abeja; spider=araña; wolf=lobo; fox=zorro; turtle=tortuga;
        bread=pan; water=agua; milk=leche; cheese=queso; apple=manzana; banana=plátano;
        egg=huevo; rice=arroz; meat=carne; chicken=pollo; soup=sopa; salt=sal; sugar=azúcar;
        coffee=café; tea=té; juice=jugo; cake=pastel; butter=mantequilla; potato=patata;
        tomato=tomate; strawberry=fresa; lemon=limón; grape=uva; carrot=zanahoria;
        onion=cebolla; beer=cerveza; wine=vino; monday=lunes; tuesday=martes;
        wednesday=miércoles; thursday=jueves; friday=viernes; saturday=sábado; sunday=domingo;
        january=enero; february=febrero; march=marzo; april=abril; may=mayo; june=junio;
        july=julio; august=agosto; september=septiembre; october=octubre; november=noviembre;
        december=diciembre; mother=madre; father=padre; sister=hermana; brother=hermano;
        son=hijo; daughter=hija; grandmother=abuela; grandfather=abuelo; aunt=tía; uncle=tío;
        cousin=primo; friend=amigo; baby=bebé; wife=esposa; husband=esposo; head=cabeza;
        hand=mano; foot=pie; eye=ojo; ear=oreja; nose=nariz; mouth=boca; arm=brazo;
        leg=pierna; heart=corazón; hair=pelo; tooth=diente; house=casa; door=puerta;
        window=ventana; table=mesa; chair=silla; bed=cama; book=libro; car=coche; key=llave;
        clock=reloj; cup=taza; spoon=cuchara; knife=cuchillo; phone=teléfono; kitchen=cocina;
        sun=sol; moon=luna; star=estrella; rain=lluvia; snow=nieve; tree=árbol; flower=flor;
        sea=mar; river=río; mountain=montaña; beach=playa; sky=cielo; wind=viento;
        big=grande; small=pequeño; hot=caliente; cold=frío; happy=feliz; sad=triste;
        good=bueno; bad=malo; new=nuevo; old=viejo"""),
}


def lexicon_tables() -> dict[str, list[str]]:
    """Every partitioned lexicon table: name -> items (keys)."""
    return {name: list(t) for name, t in TABLES.items()}


def lures_for(cue: str) -> tuple[str, ...]:
    """Phonetic neighbours of a cue word ("banana" -> bandana, cabana, bonanza)."""
    return TABLES["cue"].get(cue, ())


@cache
def items_of(table: str, split: str) -> tuple[str, ...]:
    """The items (keys) of a table that belong to `split`."""
    out = tuple(k for k in TABLES[table] if split_of_item(k) == split)
    if not out:
        raise ValueError(f"lexicon table {table!r} has no {split} items")
    return out


def pick(rng: random.Random, table: str, split: str, exclude=()) -> str:
    """A random item of the table in `split`, not one of `exclude` while others are left."""
    items = items_of(table, split)
    pool = [k for k in items if k not in exclude] or list(items)
    return rng.choice(pool)


def name(rng: random.Random, split: str) -> str:
    """A first name from the names lexicon (of `split`)."""
    check_split(split)
    return pick(rng, "name", split)

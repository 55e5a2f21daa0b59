"""`python -m microturn.train` and `torchrun -m microturn.train`: the trainer's command line."""

from microturn.train.args import main

if __name__ == "__main__":
    main()

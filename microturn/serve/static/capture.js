// Audio worklets of the microturn page (the AudioContext runs at 24 kHz, the wire's rate).
//
// "capture": the microphone in 200 ms blocks of pcm16, posted to the page as ArrayBuffers.
// "player": a small jitter buffer for the model's audio. It waits for `prebuffer` samples
// before it starts, plays what it has, reports underruns, and drops everything at once on
// {flush: true} (the model stopped or the user interrupted).

class Capture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.block = new Int16Array(4800); // 200 ms at 24 kHz
    this.n = 0;
  }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (!ch) return true;
    for (let i = 0; i < ch.length; i++) {
      const v = Math.max(-1, Math.min(1, ch[i]));
      this.block[this.n++] = v < 0 ? v * 32768 : v * 32767;
      if (this.n === this.block.length) {
        this.port.postMessage(this.block.buffer, [this.block.buffer]);
        this.block = new Int16Array(4800);
        this.n = 0;
      }
    }
    return true;
  }
}

class Player extends AudioWorkletProcessor {
  constructor() {
    super();
    this.queue = []; // Float32Array pieces
    this.offset = 0; // read position in queue[0]
    this.buffered = 0; // samples queued
    this.prebuffer = 2400; // 100 ms before playback starts (after a gap)
    this.playing = false;
    this.played = 0; // samples played
    this.loud = 0; // samples played above -40 dBFS
    this.underruns = 0;
    this.port.onmessage = (e) => {
      if (e.data.flush) {
        this.queue = [];
        this.offset = 0;
        this.buffered = 0;
        this.playing = false;
      } else {
        this.queue.push(e.data);
        this.buffered += e.data.length;
      }
    };
  }
  process(_inputs, outputs) {
    const out = outputs[0][0];
    if (!this.playing && this.buffered >= this.prebuffer) this.playing = true;
    let i = 0;
    while (this.playing && i < out.length && this.queue.length) {
      const head = this.queue[0];
      const n = Math.min(out.length - i, head.length - this.offset);
      for (let j = 0; j < n; j++) {
        const v = head[this.offset + j];
        out[i + j] = v;
        if (v > 0.01 || v < -0.01) this.loud++;
      }
      i += n;
      this.offset += n;
      this.buffered -= n;
      this.played += n;
      if (this.offset === head.length) {
        this.queue.shift();
        this.offset = 0;
      }
    }
    if (this.playing && i < out.length) {
      this.playing = false; // ran dry: wait for the prebuffer again
      this.underruns++;
    }
    out.fill(0, i);
    if (currentFrame % 4800 < 128) {
      this.port.postMessage({ played: this.played, loud: this.loud, buffered: this.buffered, underruns: this.underruns });
    }
    return true;
  }
}

registerProcessor("capture", Capture);
registerProcessor("player", Player);

// The caller's microphone, for speech recognition on our own server (KB_SPEECH=server): PCM from an AudioWorklet,
// each sentence recorded as a 16 kHz mono WAV, which every browser can record and the server decodes without
// guessing a codec. Where a sentence ends (the caller's turn): after a short quiet the sentence so far is sent to
// be heard while the microphone listens on (a guess); speech again drops the guess. The turn ends as soon as the
// guess's words are complete, or else after 0.7 s of quiet (1.2 s when the words trail off: "I'd like to know…"),
// or when push-to-talk is released. A guess is only ever used for a sentence that had no more speech after it.
import { trailsOff } from "./words.js";

const RATE = 16000;             // what Whisper hears; also keeps 15 s of speech under 0.5 MB
const FRAME_MS = 20;            // mic-worklet.js posts frames this long
const START_MS = 120;           // this much loud audio starts a sentence
const GUESS_MS = 240;           // this much quiet sends the sentence so far to be heard
const END_SILENCE_MS = 700;     // this much quiet ends it
const TRAILING_SILENCE_MS = 1200; // or this much when the guess's words trail off
const PRE_ROLL_MS = 300;        // kept from before the start, so the first syllable is not cut
const MAX_SENTENCE_MS = 14000;  // the server takes 15 s at most
const PROBE_MS = 1000;          // of a sentence begun while the agent talks: heard early, to tell caller from echo
const MIN_LEVEL = 0.01;         // RMS below this (about -40 dBFS) is never speech

export function supported() {
  return Boolean(window.isSecureContext && navigator.mediaDevices && navigator.mediaDevices.getUserMedia &&
    window.AudioContext && window.AudioWorkletNode);
}

export function unsupportedReason() {
  if (!window.isSecureContext) return "Voice input needs a secure (https) page: type your question instead.";
  return "Voice input isn't available in this browser: type your question instead.";
}

// What a caller can do about a getUserMedia failure.
function micProblem(err) {
  const name = err && err.name;
  if (name === "NotAllowedError" || name === "SecurityError") {
    return "The microphone is blocked: allow it in the browser, or type your question.";
  }
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "NotReadableError") {
    return "No working microphone was found: type your question instead.";
  }
  return "The microphone couldn't start: type your question instead.";
}

function concat(frames) {
  const out = new Float32Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of frames) { out.set(f, at); at += f.length; }
  return out;
}

// The browser's own resampler (with its low-pass filter), run offline on the finished sentence.
async function resample(samples, from) {
  if (from === RATE) return samples;
  const Offline = window.OfflineAudioContext || window.webkitOfflineAudioContext;
  const offline = new Offline(1, Math.ceil((samples.length * RATE) / from), RATE);
  const buffer = offline.createBuffer(1, samples.length, from);
  buffer.getChannelData(0).set(samples);
  const source = offline.createBufferSource();
  source.buffer = buffer;
  source.connect(offline.destination);
  source.start();
  return (await offline.startRendering()).getChannelData(0);
}

// () -> Promise of the frames as a WAV: the samples are copied now, as the sentence goes on changing.
function recording(frames, rate) {
  const samples = concat(frames);
  return async () => wav(await resample(samples, rate));
}

function wav(samples) {
  const view = new DataView(new ArrayBuffer(44 + samples.length * 2));
  const text = (at, s) => { for (let i = 0; i < s.length; i++) view.setUint8(at + i, s.charCodeAt(i)); };
  text(0, "RIFF"); view.setUint32(4, 36 + samples.length * 2, true); text(8, "WAVE");
  text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, RATE, true); view.setUint32(28, RATE * 2, true); view.setUint16(32, 2, true);
  view.setUint16(34, 16, true); text(36, "data"); view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
  }
  return new Blob([view], { type: "audio/wav" });
}

function rms(frame) {
  let sum = 0;
  for (let i = 0; i < frame.length; i++) sum += frame[i] * frame[i];
  return Math.sqrt(sum / frame.length);
}

// Turn taking (`turn`): "early" (guesses, and the turn ends on complete words), "guess" (guesses, but the turn
// ends on the quiet alone) or "silence" (no guesses: each sentence is sent once its quiet is over).
export const TURN_TAKING = ["early", "guess", "silence"];

// onSpeechStart() -> true to have the sentence's first second sent to onProbe(wavBlob) (while the agent talks,
// the microphone may be hearing the agent itself); transcribe(wavBlob, signal) -> Promise of the text heard, or
// null (not heard; a guess is sent with an AbortSignal); onSentence(text): a finished sentence, as a Promise of
// its text (or null). Each end of a turn is a performance mark "frontdesk-turn-end" ({by, quietMs}).
export class Microphone {
  constructor({ onSpeechStart, onProbe, onSentence, transcribe, turn = "early" }) {
    this.onSpeechStart = onSpeechStart;
    this.onProbe = onProbe;
    this.onSentence = onSentence;
    this.transcribe = transcribe;
    this.turn = turn;
    this.opening = null;
    this.stream = null;
    this.context = null;
    this.holding = false;
    this.guess = null;
    this.reset();
  }

  get open() { return this.context !== null; }

  reset() {
    this.dropGuess();
    this.floor = MIN_LEVEL;   // the room's noise level, followed slowly
    this.preRoll = [];
    this.sentence = null;     // frames of the sentence being spoken, or null between sentences
    this.probe = false;       // its first second is still to go to onProbe
    // No guesses at a sentence begun while the agent talks: it may be the agent heard back, pause after pause.
    this.guessing = false;
    this.loudMs = 0;
    this.quietMs = 0;
  }

  // Resolves once the microphone is on; rejects with a message for the caller.
  start() {
    if (this.context) return Promise.resolve();
    if (!this.opening) this.opening = this.connect().finally(() => { this.opening = null; });
    return this.opening;
  }

  async connect() {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia(
        { audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true } });
    } catch (err) {
      throw new Error(micProblem(err));
    }
    const context = new AudioContext();
    try {
      await context.audioWorklet.addModule("mic-worklet.js");
      const node = new AudioWorkletNode(context, "frontdesk-capture", { numberOfOutputs: 1 });
      node.port.onmessage = (event) => this.hear(event.data);
      const mute = context.createGain();
      mute.gain.value = 0; // pulled by the destination so it runs everywhere, but never played back
      context.createMediaStreamSource(stream).connect(node).connect(mute).connect(context.destination);
      if (context.state === "suspended") await context.resume();
    } catch (err) {
      stream.getTracks().forEach((t) => t.stop());
      context.close();
      throw new Error("Voice input couldn't start in this browser: type your question instead.");
    }
    this.stream = stream;
    this.context = context;
    this.reset();
  }

  stop() {
    this.holding = false;
    if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
    if (this.context) this.context.close();
    this.stream = null;
    this.context = null;
    this.reset();
  }

  // Push-to-talk: everything between hold(true) and hold(false) is one sentence, whatever the silences.
  hold(down) {
    if (down && !this.holding) {
      this.holding = true;
      this.dropGuess();
      this.sentence = this.sentence || [...this.preRoll];
      this.onSpeechStart();
    } else if (!down && this.holding) {
      this.holding = false;
      this.finish("hold");
    }
  }

  hear(frame) {
    if (!this.context) return;
    const level = rms(frame);
    const loud = level > Math.max(MIN_LEVEL, this.floor * 3);
    // Down at once to a quieter room, up only slowly: steady noise raises the floor, speech hardly does.
    this.floor = level < this.floor ? Math.max(level, MIN_LEVEL / 4) : this.floor + (level - this.floor) * 0.01;
    if (this.sentence === null) {
      this.preRoll.push(frame);
      if (this.preRoll.length * FRAME_MS > PRE_ROLL_MS) this.preRoll.shift();
      this.loudMs = loud ? this.loudMs + FRAME_MS : 0;
      if (this.loudMs >= START_MS) {
        this.sentence = [...this.preRoll];
        this.quietMs = 0;
        this.probe = Boolean(this.onSpeechStart());
        this.guessing = !this.probe && this.turn !== "silence";
      }
      return;
    }
    this.sentence.push(frame);
    if (this.probe && this.sentence.length * FRAME_MS >= PRE_ROLL_MS + PROBE_MS) {
      this.probe = false;
      this.encode(this.sentence).then(this.onProbe);
    }
    if (loud) this.dropGuess(); // the caller goes on: what was guessed is not the sentence
    this.quietMs = loud ? 0 : this.quietMs + FRAME_MS;
    if (this.sentence.length * FRAME_MS >= MAX_SENTENCE_MS) this.finish("length");
    else if (this.holding) return;
    else if (this.quietMs >= this.silenceNeeded()) this.finish("silence");
    else if (this.quietMs === GUESS_MS && this.guessing) this.guessNow();
  }

  // The quiet that ends the sentence: longer once its guessed words are heard to trail off.
  silenceNeeded() {
    const heard = this.guess && this.guess.heard;
    return this.turn === "early" && heard && trailsOff(heard) ? TRAILING_SILENCE_MS : END_SILENCE_MS;
  }

  // The sentence so far, sent to be heard while the microphone listens on.
  guessNow() {
    const guess = { controller: new AbortController(), heard: undefined, text: null };
    guess.text = this.encode(this.sentence).then((wav) => this.transcribe(wav, guess.controller.signal));
    this.guess = guess;
    guess.text.then((text) => {
      if (this.guess !== guess) return; // dropped, or the sentence already ended on its quiet
      if (text === null) { this.guess = null; return; } // not heard: the sentence is sent again as it ends
      guess.heard = text;
      if (this.turn === "early" && text && !trailsOff(text)) this.finish("words");
    });
  }

  dropGuess() {
    if (this.guess) this.guess.controller.abort();
    this.guess = null;
  }

  finish(by) {
    const frames = this.sentence;
    const guess = this.guess;
    performance.mark("frontdesk-turn-end", { detail: { by, quietMs: this.quietMs } });
    this.guess = null;
    this.sentence = null;
    this.preRoll = [];
    this.loudMs = 0;
    this.probe = false;
    if (!frames || frames.length === 0 || !this.context) return;
    const recorded = recording(frames, this.context.sampleRate);
    const whole = () => recorded().then((blob) => this.transcribe(blob));
    // The guess heard exactly this sentence (only quiet came after it); should it fail, the sentence is sent again.
    this.onSentence(guess ? guess.text.then((text) => (text === null ? whole() : text)) : whole());
  }

  encode(frames) {
    return recording(frames, this.context.sampleRate)();
  }
}

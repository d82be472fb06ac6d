/**
 * A binary min-heap of (time, seq) keys with a non-negative integer payload (a thread id), for
 * discrete-event simulation. Equal times pop in insertion order (seq), so runs are deterministic.
 *
 * It lives in typed arrays that double when full, and moves a hole rather than swapping entries,
 * so pushing and popping allocate nothing: the simulator does both for every event.
 */
export class EventHeap {
  private times = new Float64Array(1024);
  /** Insertion order; a double, exact up to 2^53 pushes. */
  private seqs = new Float64Array(1024);
  private items = new Int32Array(1024);
  private n = 0;
  private seq = 0;
  /** Time of the entry the last pop() returned. */
  lastTime = 0;

  get size(): number {
    return this.n;
  }

  push(time: number, item: number): void {
    if ((item | 0) !== item || item < 0) throw new RangeError(`EventHeap items are non-negative int32s, got ${item}`);
    if (this.n === this.times.length) this.grow();
    const s = this.seq++;
    const times = this.times;
    const seqs = this.seqs;
    const items = this.items;
    let i = this.n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const tp = times[p] as number;
      if (tp < time || (tp === time && (seqs[p] as number) < s)) break;
      times[i] = tp;
      seqs[i] = seqs[p] as number;
      items[i] = items[p] as number;
      i = p;
    }
    times[i] = time;
    seqs[i] = s;
    items[i] = item;
  }

  peekTime(): number | undefined {
    return this.n > 0 ? this.times[0] : undefined;
  }

  /**
   * Whether an entry pushed now at `time` would be the next one popped: it is earlier than every
   * entry (an equal time pops after them, being pushed later).
   */
  wouldPopFirst(time: number): boolean {
    return this.n === 0 || time < (this.times[0] as number);
  }

  /** The earliest entry's item (its time in `lastTime`), or -1 when the heap is empty. */
  pop(): number {
    const n = this.n;
    if (n === 0) return -1;
    const times = this.times;
    const seqs = this.seqs;
    const items = this.items;
    this.lastTime = times[0] as number;
    const top = items[0] as number;
    const m = n - 1;
    this.n = m;
    if (m > 0) {
      // Sift the last entry down from the root.
      const t = times[m] as number;
      const s = seqs[m] as number;
      const it = items[m] as number;
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= m) break;
        let tc = times[c] as number;
        let sc = seqs[c] as number;
        const r = c + 1;
        if (r < m) {
          const tr = times[r] as number;
          const sr = seqs[r] as number;
          if (tr < tc || (tr === tc && sr < sc)) {
            c = r;
            tc = tr;
            sc = sr;
          }
        }
        if (t < tc || (t === tc && s < sc)) break;
        times[i] = tc;
        seqs[i] = sc;
        items[i] = items[c] as number;
        i = c;
      }
      times[i] = t;
      seqs[i] = s;
      items[i] = it;
    }
    return top;
  }

  private grow(): void {
    const cap = this.times.length * 2;
    const times = new Float64Array(cap);
    const seqs = new Float64Array(cap);
    const items = new Int32Array(cap);
    times.set(this.times);
    seqs.set(this.seqs);
    items.set(this.items);
    this.times = times;
    this.seqs = seqs;
    this.items = items;
  }
}

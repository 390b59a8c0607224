/**
 * A cache of about `capacity` recently used entries, in two generations: entries go into the
 * young Map; when it is full it becomes the old one (the previous old one is dropped whole), and
 * an old entry that is used again moves back to the young. Every operation is a plain Map get or
 * set: a strict LRU (delete and re-insert on each hit) leaves the Map's hash table full of
 * deleted slots, and its eviction must iterate past them, which showed in the profiles.
 */
export class LruMap<K, V> {
  private young = new Map<K, V>();
  private old = new Map<K, V>();
  private readonly generation: number;

  constructor(readonly capacity: number) {
    this.generation = Math.max(1, Math.ceil(capacity / 2));
  }

  get size(): number {
    return this.young.size + this.old.size;
  }

  get(key: K): V | undefined {
    const value = this.young.get(key);
    if (value !== undefined) return value;
    const aged = this.old.get(key);
    if (aged !== undefined) this.set(key, aged);
    return aged;
  }

  set(key: K, value: V): void {
    if (this.young.size >= this.generation && !this.young.has(key)) {
      this.old = this.young;
      this.young = new Map();
    }
    this.young.set(key, value);
  }
}

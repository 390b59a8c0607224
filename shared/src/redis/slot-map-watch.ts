import type { Cluster, ClusterNode } from 'ioredis';

/** How often one client of a cluster reads the slot map on behalf of its process's others, ms. */
export const SLOT_MAP_WATCH_MS = 2000;

/**
 * How often every cluster client re-reads the slot map on its own (ioredis's
 * `slotsRefreshInterval`), ms: a fallback only. The watch tells a client of a change within
 * `SLOT_MAP_WATCH_MS`, and tells it again every `SLOT_MAP_WATCH_MS` for as long as its map still
 * differs (a re-read that failed included); a redirection makes it re-read at once. Each re-read
 * opens a connection and walks the 16 384 slots (~5 ms of an idle process's CPU each): at 30 s
 * for each of a worker's ten clients they were 40 % of what an idle worker cost on a cluster
 * (docs/performance.md, round 14).
 */
export const SLOT_MAP_FALLBACK_MS = 300_000;

const SLOTS = 16_384;

/**
 * Makes `cluster` one of the clients of its process that share one watch of the cluster's slot
 * map (the clients opened with the same seed nodes: a client and its duplicates, and every
 * client of the same `REDIS_CLUSTER_NODES`). `canWatch`: false for a client that may sit in a
 * blocking command (BullMQ's duplicates), whose own commands wait behind it.
 *
 * Why: a process holds many cluster clients (a worker: its command, publishing and control
 * clients, BullMQ's, and a blocking duplicate per queue shard), and ioredis re-reads the slot map
 * per client on a timer, each time over a new connection (connect, `CLUSTER SLOTS`, then a pass
 * over the 16 384 slots that builds a string per slot). Every 2 s per client, that was most of
 * what an idle worker cost on a cluster (docs/performance.md, round 12). Now one client sends
 * `CLUSTER SLOTS` every 2 s over a connection it has, and every client whose map differs from
 * the answer (a failover, a migration) re-reads its own at once: a promoted replica is still
 * in every client's map within 2 s, without a command having to fail first (commands held for
 * a dead master are retried elsewhere when its client drops it from the map). Each client also
 * re-reads on its own on every redirection (ioredis) and every 5 minutes (`SLOT_MAP_FALLBACK_MS`,
 * set by the caller), should the watch miss a change.
 */
export function shareSlotMapWatch(cluster: Cluster, seeds: readonly ClusterNode[], canWatch: boolean): void {
  const key = seedKey(seeds);
  groupOf(key).add(cluster, canWatch);
  // A client that ended may connect again (BullMQ reopens its blocking connections): it rejoins,
  // with the map it read while connecting (its `refresh` came while it was out of the group).
  cluster.on('ready', () => {
    const group = groupOf(key);
    group.add(cluster, canWatch);
    group.learned(cluster);
  });
  cluster.on('end', () => groups.get(key)?.remove(cluster));
  // Its map as of its last read, for the watch to compare (reads are rare: on connect, when told,
  // on redirections, every 5 minutes).
  cluster.on('refresh', () => groups.get(key)?.learned(cluster));
}

/** The groups of this process, by seed nodes; a group is dropped when its last client ends. */
const groups = new Map<string, SlotMapGroup>();

function groupOf(key: string): SlotMapGroup {
  let group = groups.get(key);
  if (!group) {
    group = new SlotMapGroup(() => groups.delete(key));
    groups.set(key, group);
  }
  return group;
}

function seedKey(seeds: readonly ClusterNode[]): string {
  return seeds
    .map((seed) => (typeof seed === 'object' ? `${seed.host ?? '127.0.0.1'}:${seed.port ?? 6379}` : String(seed)))
    .sort()
    .join(',');
}

interface Member {
  canWatch: boolean;
  /** `slotOwners` of its map as of its last read; null before. */
  owners: string | null;
}

class SlotMapGroup {
  /** In the order they joined: the first ready one that can watch, watches. */
  private readonly members = new Map<Cluster, Member>();
  private timer: NodeJS.Timeout | null = null;
  private watching = false;

  constructor(private readonly onEmpty: () => void) {}

  add(cluster: Cluster, canWatch: boolean): void {
    if (!this.members.has(cluster)) this.members.set(cluster, { canWatch, owners: null });
    if (this.timer === null) {
      this.timer = setInterval(this.watch, SLOT_MAP_WATCH_MS);
      this.timer.unref();
    }
  }

  remove(cluster: Cluster): void {
    this.members.delete(cluster);
    if (this.members.size > 0 || this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
    this.onEmpty();
  }

  learned(cluster: Cluster): void {
    const member = this.members.get(cluster);
    if (member) member.owners = slotOwners(cluster);
  }

  private readonly watch = (): void => {
    if (this.watching) return;
    let watcher: Cluster | undefined;
    for (const [cluster, member] of this.members) {
      if (member.canWatch && cluster.status === 'ready') {
        watcher = cluster;
        break;
      }
    }
    // None ready: each is connecting, and reads the map as it connects.
    if (!watcher) return;
    this.watching = true;
    withTimeout(watcher.cluster('SLOTS'), SLOT_MAP_WATCH_MS)
      .then((reply) => {
        if (reply === null) return;
        const owners = slotOwnersOf(reply);
        for (const [cluster, member] of this.members) {
          if (member.owners !== owners && cluster.status === 'ready') cluster.refreshSlotsCache();
        }
      })
      // A node that does not answer now (a failover under way) is asked again at the next watch.
      .catch(() => {})
      .finally(() => (this.watching = false));
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<null>((resolve) => (timer = setTimeout(resolve, ms, null)))]).finally(() => clearTimeout(timer));
}

/** The master of every slot as ranges (`0-5460 127.0.0.1:7000;…`; `-` for none) in a client's map. */
export function slotOwners(cluster: Cluster): string {
  return ownerRanges((slot) => cluster.slots[slot]?.[0]);
}

/**
 * The same, from a `CLUSTER SLOTS` reply: equal strings, equal maps. Built from the reply's few
 * ranges (sorted, gaps as `-`, neighbours of one owner merged) rather than slot by slot: this
 * runs every `SLOT_MAP_WATCH_MS` in every process, idle or not.
 */
export function slotOwnersOf(reply: ReadonlyArray<readonly unknown[]>): string {
  const ranges = reply
    .map(([start, end, master]) => {
      const [host, port] = master as [string, number];
      return { start: Number(start), end: Number(end), owner: `${host}:${port}` };
    })
    .sort((a, b) => a.start - b.start);
  const merged: Array<{ start: number; end: number; owner: string }> = [];
  const add = (start: number, end: number, owner: string): void => {
    const last = merged.at(-1);
    if (last && last.owner === owner && last.end + 1 === start) last.end = end;
    else merged.push({ start, end, owner });
  };
  let next = 0;
  for (const range of ranges) {
    // Overlapping or out-of-bounds ranges are no map a healthy cluster gives: read slot by slot
    // (the later range wins, as a client's map would have it).
    if (range.start < next || range.end >= SLOTS || range.end < range.start) return slotOwnersBySlot(reply);
    if (range.start > next) add(next, range.start - 1, '-');
    add(range.start, range.end, range.owner);
    next = range.end + 1;
  }
  if (next < SLOTS) add(next, SLOTS - 1, '-');
  return merged.map((r) => `${r.start}-${r.end} ${r.owner}`).join(';');
}

function slotOwnersBySlot(reply: ReadonlyArray<readonly unknown[]>): string {
  const owner: Array<string | undefined> = new Array(SLOTS);
  for (const [start, end, master] of reply) {
    const [host, port] = master as [string, number];
    const key = `${host}:${port}`;
    for (let slot = Number(start); slot <= Math.min(Number(end), SLOTS - 1); slot++) owner[slot] = key;
  }
  return ownerRanges((slot) => owner[slot]);
}

function ownerRanges(ownerOf: (slot: number) => string | undefined): string {
  const ranges: string[] = [];
  let start = 0;
  let owner = ownerOf(0);
  for (let slot = 1; slot <= SLOTS; slot++) {
    const next = slot < SLOTS ? ownerOf(slot) : undefined;
    if (slot < SLOTS && next === owner) continue;
    ranges.push(`${start}-${slot - 1} ${owner ?? '-'}`);
    start = slot;
    owner = next;
  }
  return ranges.join(';');
}

/** How `runPool` shares its slots among groups of items (registries, for the check). */
export interface PoolGroups<T> {
  /** The group an item belongs to. */
  of(item: T): string;
  /** At most this many items of the item's group in flight at once. */
  limit(item: T): number;
}

/**
 * Runs `work` over `items` with at most `limit` in flight; resolves when all have settled, and
 * rejects then with the first failure. With `groups`, the groups take turns for free slots and
 * an item starts only while its group is under its own limit and its fair share of the slots:
 * a slow or rate-limited registry then holds its own share of slots, never the others' (no
 * head-of-line blocking).
 */
export function runPool<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
  groups?: PoolGroups<T>,
): Promise<void> {
  const queues = new Map<string, { items: T[]; next: number; running: number }>();
  for (const item of items) {
    const key = groups?.of(item) ?? '';
    const queue = queues.get(key);
    if (queue) queue.items.push(item);
    else queues.set(key, { items: [item], next: 0, running: 0 });
  }
  const order = [...queues.values()];
  const slots = Math.max(1, limit);
  let running = 0;
  let settled = 0;
  let turn = 0;
  let failure: { error: unknown } | undefined;

  return new Promise<void>((resolve, reject) => {
    const finish = () => (failure ? reject(failure.error) : resolve());
    // The most slots a group with items waiting may hold now: the slots not held by groups
    // that are done queueing, shared evenly among the waiting groups, where a group capped
    // below its share leaves the rest to the others (max-min fairness). A slow group whose
    // own limit is as large as the pool then never takes the slots the others need.
    const fairShare = () => {
      const waiting = order.filter((q) => q.next < q.items.length);
      let free = slots;
      for (const q of order) if (q.next >= q.items.length) free -= q.running;
      const caps = waiting
        .map((q) => (groups ? Math.max(1, groups.limit(q.items[q.next]!)) : slots))
        .sort((a, b) => a - b);
      let left = caps.length;
      for (const cap of caps) {
        const even = Math.ceil(free / left);
        if (cap >= even) return even;
        free -= cap;
        left--;
      }
      return slots;
    };
    // The next queue in turn that has an item waiting and room in its group and its share.
    const pick = () => {
      const share = fairShare();
      for (let i = 0; i < order.length; i++) {
        const queue = order[(turn + i) % order.length]!;
        const item = queue.items[queue.next];
        if (item === undefined) continue;
        if (groups && queue.running >= Math.max(1, groups.limit(item))) continue;
        if (queue.running >= share) continue;
        turn = (turn + i + 1) % order.length;
        queue.next++;
        return { queue, item };
      }
      return undefined;
    };
    const done = (queue: { running: number }) => {
      queue.running--;
      running--;
      settled++;
      if (settled === items.length) finish();
      else pump();
    };
    const pump = () => {
      while (running < slots) {
        const picked = pick();
        if (!picked) break;
        const { queue, item } = picked;
        queue.running++;
        running++;
        // Started on the next microtask, as before; one chain of two promises per item.
        Promise.resolve()
          .then(() => work(item))
          .then(
            () => done(queue),
            (error: unknown) => {
              failure ??= { error };
              done(queue);
            },
          );
      }
    };
    if (items.length === 0) resolve();
    else pump();
  });
}

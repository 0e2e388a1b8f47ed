/**
 * The budget of query bytes in flight (`ZO_QUERY_BYTES_IN_FLIGHT`): the records of every
 * `GET /query` page being read or sent take their bytes from it before the store reads them and
 * give them back once the answer is sent, so concurrent large queries cannot hold more than it in
 * memory. One owner (an API key) may hold a quarter; a page that does not fit waits a little for
 * others to finish, then is refused (429 `busy`), never left to grow the process.
 *
 * @module
 */

/**
 * Default `ZO_QUERY_BYTES_IN_FLIGHT`: 16 MiB, four full pages of 4 MiB (one per key). Pages take
 * the bytes of the records they read, so pages of small events take little of it.
 */
export const DEFAULT_QUERY_BYTES_IN_FLIGHT = 16 * 1024 * 1024;

/** Why {@linkcode QueryBudget.take} refused. */
export type BudgetRefusal = "bytes_in_flight" | "key_share";

/** Bytes of query pages in flight, shared by all queries. */
export interface QueryBudget {
  /**
   * Takes `bytes` for `owner`, waiting up to the budget's wait for them to be free; resolves
   * "ok", or why not once the wait is over (at once when they could never fit).
   */
  take(bytes: number, owner: string): Promise<"ok" | BudgetRefusal>;
  /** Gives `bytes` of `owner` back (and lets waiting pages in). */
  give(bytes: number, owner: string): void;
  /** Bytes taken now. */
  readonly used: number;
  /** Pages waiting for bytes now. */
  readonly waiting: number;
}

/** Options of {@linkcode createQueryBudget}. */
export interface QueryBudgetOptions {
  /** Most bytes one owner may hold; default a quarter of the budget. */
  perOwnerBytes?: number;
  /** Longest a page waits for bytes, in ms; default 5,000. */
  waitMs?: number;
}

interface Waiter {
  bytes: number;
  owner: string;
  resolve: (outcome: "ok" | BudgetRefusal) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** A {@linkcode QueryBudget} of `maxBytes`. */
export function createQueryBudget(maxBytes: number, options: QueryBudgetOptions = {}): QueryBudget {
  if (!(maxBytes > 0)) throw new RangeError(`Cannot make a query budget of ${maxBytes} bytes`);
  const perOwner = options.perOwnerBytes ?? Math.floor(maxBytes / 4);
  if (!(perOwner > 0)) throw new RangeError(`Cannot give an owner ${perOwner} bytes`);
  const waitMs = options.waitMs ?? 5_000;
  let used = 0;
  const owners = new Map<string, number>();
  const waiters: Waiter[] = [];

  const refusal = (bytes: number, owner: string): BudgetRefusal | undefined => {
    if ((owners.get(owner) ?? 0) + bytes > perOwner) return "key_share";
    if (used + bytes > maxBytes) return "bytes_in_flight";
    return undefined;
  };
  const grant = (bytes: number, owner: string) => {
    used += bytes;
    owners.set(owner, (owners.get(owner) ?? 0) + bytes);
  };
  // Lets in, in arrival order, every waiting page that fits now.
  const admit = () => {
    for (let i = 0; i < waiters.length;) {
      const waiter = waiters[i]!;
      if (refusal(waiter.bytes, waiter.owner) !== undefined) {
        i++;
        continue;
      }
      waiters.splice(i, 1);
      clearTimeout(waiter.timer);
      grant(waiter.bytes, waiter.owner);
      waiter.resolve("ok");
    }
  };

  return {
    take(bytes, owner) {
      if (bytes <= 0) return Promise.resolve("ok");
      const now = refusal(bytes, owner);
      if (now === undefined) {
        grant(bytes, owner);
        return Promise.resolve("ok");
      }
      // More than the share or the whole budget: no wait would help.
      if (bytes > perOwner) return Promise.resolve("key_share");
      if (bytes > maxBytes) return Promise.resolve("bytes_in_flight");
      return new Promise((resolve) => {
        const waiter: Waiter = {
          bytes,
          owner,
          resolve,
          timer: setTimeout(() => {
            waiters.splice(waiters.indexOf(waiter), 1);
            resolve(refusal(bytes, owner) ?? "bytes_in_flight");
          }, waitMs),
        };
        waiters.push(waiter);
      });
    },
    give(bytes, owner) {
      if (bytes <= 0) return;
      used = Math.max(0, used - bytes);
      const left = (owners.get(owner) ?? 0) - bytes;
      if (left > 0) owners.set(owner, left);
      else owners.delete(owner);
      admit();
    },
    get used() {
      return used;
    },
    get waiting() {
      return waiters.length;
    },
  };
}

// The keeper keys given to every process of the suite (fresh random keys, in several spellings) must appear
// nowhere: not in any process's stdout/stderr (logs, start-up errors), API response, or Redis value (BullMQ job
// data, results, alert payloads, nonce and lock keys). Runs last, over everything the suite captured.
import { expect } from "chai";
import { captured, dumpPrefix, fault, prefixesUsed, REDIS_MAIN, secrets } from "../harness";

export function secretsCases(): void {
  describe("secrets: keeper keys never leak", function () {
    this.timeout(60_000);

    it("no keeper key (with or without 0x, any case, or either half of it) in logs, errors, API responses or Redis", async () => {
      await fault("secrets", "keeper keys in every output", async (f) => {
        expect(secrets.length, "keys were handed out").to.be.greaterThan(0);
        for (const { port, prefix } of prefixesUsed.filter((p) => p.port === REDIS_MAIN.port)) {
          const dump = await dumpPrefix(port, prefix);
          captured.push({ source: `redis ${prefix}`, text: () => dump });
        }
        const needles = secrets.flatMap((k) => {
          const bare = k.slice(2).toLowerCase();
          return [bare, bare.slice(0, 32), bare.slice(32)];
        });
        const leaks: string[] = [];
        let bytes = 0;
        for (const c of captured) {
          const text = c.text().toLowerCase();
          bytes += text.length;
          for (const n of needles) if (text.includes(n)) leaks.push(`${c.source}: …${n.slice(0, 6)}…`);
        }
        f.lost(leaks.length, "leaks");
        expect(leaks).to.deep.equal([]);
        // The scan saw real output: process logs, API bodies and Redis values.
        expect(bytes).to.be.greaterThan(10_000);
        expect(captured.some((c) => c.source.startsWith("redis ") && c.text().length > 0)).to.equal(true);
        f.survived(`${secrets.length} keys, ${captured.length} sources, ${Math.round(bytes / 1024)} KiB scanned`);
      });
    });
  });
}

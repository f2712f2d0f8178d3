// node-redis (createSentinel), RESP2 and RESP3, across a kill -9 of the master.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSentinel } from 'redis';
import { IMPLS, startGroup, untilOk, withTimeout, record } from '../lib/cluster.mjs';


for (const impl of IMPLS) {
  for (const RESP of [2, 3]) {
    test(`node-redis createSentinel RESP${RESP}, ${impl}`, async (t) => {
      const group = await startGroup(impl);
      t.after(() => group.stop());
      const socket = { connectTimeout: 300, reconnectStrategy: () => 20 };
      const sentinel = createSentinel({
        name: group.master_name,
        sentinelRootNodes: group.sentinelNodes,
        RESP,
        scanInterval: 1000,
        nodeClientOptions: { RESP, socket },
        sentinelClientOptions: { RESP, socket },
      });
      const errors = [];
      sentinel.on('error', (e) => errors.push(e));
      t.after(async () => { try { sentinel.destroy(); } catch { /* already closed */ } });
      await withTimeout(sentinel.connect(), 10000);

      const key = `k-${Math.random().toString(16).slice(2)}`;
      assert.equal(await sentinel.set(key, 'before'), 'OK');
      assert.equal(await sentinel.get(key), 'before');
      const role = await sentinel.use((c) => c.role());
      assert.equal(role.role, 'master');

      await group.killMaster();
      const recovery = await untilOk(() => withTimeout(sentinel.set(key, 'after'), 1000), 30000);
      record(`node-redis RESP${RESP}`, impl, recovery);

      const result = await group.check(key, 'after');
      assert.ok(result.ok, JSON.stringify(result));
    });
  }
}

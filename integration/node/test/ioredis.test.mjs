// ioredis with `sentinels:`, with and without failoverDetector, across a kill -9 of the master.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { IMPLS, startGroup, untilOk, withTimeout, record } from '../lib/cluster.mjs';


for (const impl of IMPLS) {
  for (const failoverDetector of [false, true]) {
    test(`ioredis ${failoverDetector ? 'with' : 'without'} failoverDetector, ${impl}`, async (t) => {
      const group = await startGroup(impl);
      t.after(() => group.stop());
      const opts = {
        sentinels: group.sentinelNodes,
        name: group.master_name,
        failoverDetector,
        connectTimeout: 300,
        commandTimeout: 300,
        maxRetriesPerRequest: 0,
        retryStrategy: () => 20,
        sentinelRetryStrategy: () => 20,
        sentinelCommandTimeout: 300,
        lazyConnect: true,
      };
      const master = new Redis(opts);
      const replica = new Redis({ ...opts, role: 'slave' });
      t.after(async () => { closing = true; master.disconnect(); replica.disconnect(); });
      master.on('error', () => {});
      replica.on('error', () => {});
      // ioredis 6.0.0's own race, seen with redis-sentinel and rsentinel alike: a
      // +switch-master that arrives (from a second sentinel) while the failoverDetector's
      // reconnect is still connecting moves the client to status 'end' for good, and every
      // command then fails with "Connection is closed.". An application has to connect again
      // from an 'end' handler; so does this test, and it says when it had to.
      let closing = false;
      let ends = 0;
      master.on('end', () => {
        if (closing) return;
        ends += 1;
        master.connect().catch(() => {});
      });
      await master.connect();
      await replica.connect();

      assert.equal(master.stream.remotePort, group.master, 'ioredis connected to the master the sentinels gave');
      assert.ok(group.replicas.includes(replica.stream.remotePort), 'role: slave connected to a replica');
      const key = `k-${Math.random().toString(16).slice(2)}`;
      assert.equal(await master.set(key, 'before'), 'OK');
      assert.equal(await master.get(key), 'before');
      await untilOk(async () => assert.equal(await replica.get(key), 'before'), 5000, 20);

      await group.killMaster();
      const recovery = await untilOk(() => withTimeout(master.set(key, 'after'), 1000), 30000);
      const label = `ioredis${failoverDetector ? ' failoverDetector' : ''}`;
      record(label, impl, recovery);
      if (ends > 0) console.log(`ioredis ended ${ends} time(s) during the failover and was connected again`);

      const result = await group.check(key, 'after');
      assert.ok(result.ok, JSON.stringify(result));
      // ROLE through the client: it now talks to a master (the write above is on the one the
      // sentinels name; the stream may be reconnecting again after a later +switch-master).
      await untilOk(async () => assert.equal((await withTimeout(master.call('ROLE'), 1000))[0], 'master'), 10000, 20);
    });
  }
}

// ioredis with `sentinels:`, with and without failoverDetector, across a kill -9 of the master.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { IMPLS, startGroup, untilOk, withTimeout, record } from '../lib/cluster.mjs';

const cleanups = [];
after(async () => { for (const c of cleanups.reverse()) await c(); });

for (const impl of IMPLS) {
  for (const failoverDetector of [false, true]) {
    test(`ioredis ${failoverDetector ? 'with' : 'without'} failoverDetector, ${impl}`, async () => {
      const group = await startGroup(impl);
      cleanups.push(() => group.stop());
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
      cleanups.push(async () => { master.disconnect(); replica.disconnect(); });
      master.on('error', () => {});
      replica.on('error', () => {});
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

      const result = await group.check(key, 'after');
      assert.ok(result.ok, JSON.stringify(result));
      assert.equal(master.stream.remotePort, result.master, 'ioredis now talks to the new master');
    });
  }
}

// Checks one area of Kafka with kafkajs against a running broker.
//
//   node tests/node/kafkajs_check.js BOOTSTRAP CASE     (CASE: one of the keys of CASES below)
//
// Prints "ok CASE" and exits 0 when every check of the case holds; otherwise prints what failed
// and exits 1. tests/python/test_kafkajs.py starts the broker and runs each case.
'use strict';

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const { Kafka, logLevel, CompressionTypes, ConfigResourceTypes } = require('kafkajs');

const DEADLINE_MS = 60000;

function unique(name) {
  return `${name}-${crypto.randomBytes(4).toString('hex')}`;
}

async function withDeadline(what, promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done in ${DEADLINE_MS} ms`)), DEADLINE_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function createTopic(admin, topic, numPartitions, configEntries = []) {
  const created = await admin.createTopics({
    topics: [{ topic, numPartitions, replicationFactor: 1, configEntries }],
    waitForLeaders: true,
  });
  assert.equal(created, true, `topic ${topic} created`);
}

// Reads `expected` records of a topic from its start through a new group, then checks that no
// more arrive for a moment. Returns them grouped by partition, in offset order.
async function readAll(kafka, topic, expected, consumerConfig = {}) {
  const consumer = kafka.consumer({ groupId: unique('read'), maxWaitTimeInMs: 500, ...consumerConfig });
  const byPartition = new Map();
  let count = 0;
  let done;
  const allRead = new Promise((resolve) => { done = resolve; });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        if (!byPartition.has(partition)) byPartition.set(partition, []);
        byPartition.get(partition).push(message);
        count += 1;
        if (count >= expected) done();
      },
    });
    await withDeadline(`reading ${expected} records of ${topic}`, allRead);
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(count, expected, 'no records beyond those written');
    return byPartition;
  } finally {
    await consumer.disconnect();
  }
}

const CASES = {
  // Metadata, topics, topic configs and partitions through the admin client.
  async admin(kafka, admin, port) {
    const topic = unique('js-admin');
    await createTopic(admin, topic, 2, [{ name: 'retention.ms', value: '3600000' }]);
    assert.ok((await admin.listTopics()).includes(topic));
    assert.equal(await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] }), false,
      'creating an existing topic creates nothing');
    const cluster = await admin.describeCluster();
    assert.deepEqual(cluster.brokers.map((b) => b.port), [port], 'our broker, and only it');

    const resource = { type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] };
    const retention = async () => {
      const { resources } = await admin.describeConfigs({ resources: [resource], includeSynonyms: false });
      assert.equal(resources[0].errorCode, 0);
      return resources[0].configEntries.find((e) => e.configName === 'retention.ms').configValue;
    };
    assert.equal(await retention(), '3600000');
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic,
        configEntries: [{ name: 'retention.ms', value: '1800000' }] }],
    });
    assert.equal(await retention(), '1800000');

    await admin.createPartitions({ topicPartitions: [{ topic, count: 4 }] });
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(topics[0].partitions.length, 4);

    await admin.deleteTopics({ topics: [topic] });
    await withDeadline('the deleted topic leaving the list', (async () => {
      while ((await admin.listTopics()).includes(topic)) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })());
  },

  // acks 0, 1 and all with headers, null keys and null values, gzip on the acks=all batch.
  async produce(kafka, admin) {
    const n = 600;
    for (const acks of [0, 1, -1]) {
      const topic = unique(`js-acks${acks}`);
      await createTopic(admin, topic, 2);
      const producer = kafka.producer();
      await producer.connect();
      try {
        const messages = [];
        for (let i = 0; i < n; i++) {
          messages.push({
            partition: i % 2,
            key: i % 5 === 0 ? null : `k${i}`,
            value: i % 7 === 0 ? null : `v${i}`,
            headers: { i: String(i) },
          });
        }
        const compression = acks === -1 ? CompressionTypes.GZIP : CompressionTypes.None;
        const sent = await producer.send({ topic, acks, compression, messages });
        if (acks !== 0) {
          assert.deepEqual(sent.map((r) => [r.partition, r.errorCode, r.baseOffset]).sort(),
            [[0, 0, '0'], [1, 0, '0']]);
        }
      } finally {
        await producer.disconnect();
      }
      const read = await readAll(kafka, topic, n);
      for (const p of [0, 1]) {
        const want = [...Array(n).keys()].filter((i) => i % 2 === p);
        const got = read.get(p);
        assert.deepEqual(got.map((m) => m.offset), want.map((_, j) => String(j)));
        assert.deepEqual(got.map((m) => m.key && m.key.toString()),
          want.map((i) => (i % 5 === 0 ? null : `k${i}`)));
        assert.deepEqual(got.map((m) => m.value && m.value.toString()),
          want.map((i) => (i % 7 === 0 ? null : `v${i}`)));
        assert.deepEqual(got.map((m) => m.headers.i.toString()), want.map(String));
      }
    }
  },

  // The idempotent producer: each record once and in order across many sends.
  async idempotence(kafka, admin) {
    const topic = unique('js-idem');
    await createTopic(admin, topic, 1);
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const n = 50;
    try {
      for (let i = 0; i < n; i++) {
        const [r] = await producer.send({
          topic, acks: -1, messages: [{ partition: 0, key: 'k', value: `${i}` }] });
        assert.equal(r.baseOffset, String(i));
      }
    } finally {
      await producer.disconnect();
    }
    const got = (await readAll(kafka, topic, n)).get(0);
    assert.deepEqual(got.map((m) => m.value.toString()), [...Array(n).keys()].map(String));
  },

  // A record of 1 MiB and one after it.
  async large(kafka, admin) {
    const topic = unique('js-big');
    await createTopic(admin, topic, 1);
    const big = crypto.randomBytes(1 << 20);
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({ topic, messages: [{ partition: 0, key: 'big', value: big },
        { partition: 0, key: 'small', value: 'after' }] });
    } finally {
      await producer.disconnect();
    }
    const got = (await readAll(kafka, topic, 2,
      { maxBytesPerPartition: 4 << 20, maxBytes: 8 << 20 })).get(0);
    assert.ok(got[0].value.equals(big), 'the 1 MiB value is read back intact');
    assert.equal(got[1].value.toString(), 'after');
  },

  // Offsets by timestamp and the earliest and latest offsets.
  async times(kafka, admin) {
    const topic = unique('js-times');
    await createTopic(admin, topic, 1);
    // An hour ago: old enough to lie before any other record, young enough to outlive retention.
    const base = Date.now() - 3600000;
    const producer = kafka.producer();
    await producer.connect();
    try {
      for (let i = 0; i < 10; i++) {
        await producer.send({ topic, messages: [{ partition: 0, value: `t${i}`, timestamp: String(base + i * 1000) }] });
      }
    } finally {
      await producer.disconnect();
    }
    const [offsets] = await admin.fetchTopicOffsets(topic);
    assert.deepEqual([offsets.low, offsets.high], ['0', '10']);
    for (const [ts, want] of [[base - 5000, '0'], [base, '0'], [base + 3500, '4'], [base + 9000, '9']]) {
      const [found] = await admin.fetchTopicOffsetsByTimestamp(topic, ts);
      assert.equal(found.offset, want, `offset for time ${ts}`);
    }
  },

  // Two members of a group split the partitions, commit, and the admin client sees the group.
  async groups(kafka, admin) {
    const topic = unique('js-grp-topic');
    const groupId = unique('js-grp');
    await createTopic(admin, topic, 4);
    const n = 400;
    const seen = [];
    const owners = new Map();
    const assigned = [[], []];
    let done;
    const allRead = new Promise((resolve) => { done = resolve; });
    const members = [0, 1].map(() => kafka.consumer({ groupId, maxWaitTimeInMs: 500 }));
    try {
      for (const [id, member] of members.entries()) {
        member.on(member.events.GROUP_JOIN, (e) => {
          assigned[id] = e.payload.memberAssignment[topic] || [];
        });
        await member.connect();
        await member.subscribe({ topics: [topic], fromBeginning: true });
        await member.run({
          eachMessage: async ({ partition, message }) => {
            seen.push(Number(message.value.toString()));
            owners.set(partition, id);
            if (seen.length >= n) done();
          },
        });
      }
      // Produce only once both members hold partitions, so that both read some.
      await withDeadline('both members getting partitions', (async () => {
        while (assigned[0].length === 0 || assigned[1].length === 0
          || assigned[0].length + assigned[1].length !== 4) {
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })());
      const producer = kafka.producer();
      await producer.connect();
      try {
        await producer.send({ topic, messages: [...Array(n).keys()].map((i) => ({ partition: i % 4, value: `${i}` })) });
      } finally {
        await producer.disconnect();
      }
      await withDeadline('the group reading every record', allRead);
      assert.deepEqual([...seen].sort((a, b) => a - b), [...Array(n).keys()], 'each record once');
      assert.equal(new Set(owners.values()).size, 2, 'both members got partitions');
      // Commits are asynchronous in kafkajs: wait until the group's offsets show every record.
      const committed = async () => (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]
        .partitions.map((p) => [p.partition, p.offset]).sort();
      const want = [0, 1, 2, 3].map((p) => [p, String(n / 4)]);
      await withDeadline('committed offsets', (async () => {
        while (JSON.stringify(await committed()) !== JSON.stringify(want)) {
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
      })());
      const { groups } = await admin.listGroups();
      assert.ok(groups.some((g) => g.groupId === groupId && g.protocolType === 'consumer'));
      const described = (await admin.describeGroups([groupId])).groups[0];
      assert.equal(described.state, 'Stable');
      assert.equal(described.members.length, 2);
    } finally {
      for (const member of members) await member.disconnect();
    }
    await admin.deleteGroups([groupId]);
    assert.ok(!(await admin.listGroups()).groups.some((g) => g.groupId === groupId));
  },

  // Deleting records moves the log start; reads begin there.
  async delete(kafka, admin) {
    const topic = unique('js-delete');
    await createTopic(admin, topic, 1);
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({ topic, messages: [...Array(10).keys()].map((i) => ({ partition: 0, value: `${i}` })) });
    } finally {
      await producer.disconnect();
    }
    // kafkajs looks the leader up in metadata it cached before asking for it (its own code, not
    // the broker's answer): fetchTopicOffsets puts the topic into that cache first.
    assert.equal((await admin.fetchTopicOffsets(topic))[0].high, '10');
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '6' }] });
    const [offsets] = await admin.fetchTopicOffsets(topic);
    assert.equal(offsets.low, '6');
    const got = (await readAll(kafka, topic, 4)).get(0);
    assert.deepEqual(got.map((m) => [m.offset, m.value.toString()]), [6, 7, 8, 9].map((o) => [String(o), `${o}`]));
  },
};

async function main() {
  const [bootstrap, name] = process.argv.slice(2);
  if (!bootstrap || !CASES[name]) {
    console.error(`usage: node kafkajs_check.js HOST:PORT CASE   (CASE: ${Object.keys(CASES).join(', ')})`);
    process.exit(2);
  }
  const kafka = new Kafka({ clientId: 'chronik-kafkajs-check', brokers: [bootstrap], logLevel: logLevel.ERROR });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await CASES[name](kafka, admin, Number(bootstrap.split(':')[1]));
  } finally {
    await admin.disconnect();
  }
  console.log(`ok ${name}`);
}

main().catch((err) => {
  console.error(err && err.stack ? err.stack : err);
  // kafkajs names the failing partitions of a multi-partition call here.
  if (err && err.partitions) console.error(JSON.stringify(err.partitions));
  process.exit(1);
});

// Serf's event handlers on the agent: filters parsed as Serf parses them, real `/bin/sh` child
// processes getting Serf's environment and stdin, a query handler's output as the response, failures
// and timeouts logged and never fatal; and, with `serf` on PATH, the same handler script run by a real
// serf 0.9.4 agent and by a Grapevine agent for the same user event and the same member join.
import assert from 'node:assert/strict'
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it, test } from 'node:test'
import type { Agent } from '../../src/agent/agent.js'
import { memberLine, parseEventHandler, payloadStdin, selfEnv } from '../../src/agent/event-handlers.js'
import type { Member } from '../../src/runtime/node/start-node.js'
import { gossipAddress, runCli, startTestAgent, stopAll, waitFor } from './helpers.js'
import type { Agent as SerfAgent } from '../interop/serf-harness.js'
import { requireSerf, serfCommand, startAgent as startSerf, stopAll as stopSerf, waitUntil } from '../interop/serf-harness.js'

const member = (name: string, tags: Record<string, string>): Member => ({ name, address: { ip: '10.0.0.7', port: 7946 }, state: 'alive', incarnation: 1, meta: new Uint8Array(0), tags }) as unknown as Member

describe('handler specs and formats, as Serf has them', () => {
  it('parses [FILTER=]SCRIPT: no filter is every event, filters are comma-separated, user:/query: take a name', () => {
    assert.deepEqual(parseEventHandler('./all.sh').filters, [{ event: '*', name: '' }])
    assert.deepEqual(parseEventHandler('member-leave,member-failed=./gone.sh').filters, [{ event: 'member-leave', name: '' }, { event: 'member-failed', name: '' }])
    const u = parseEventHandler('user:deploy,query:load=./x.sh a=b')
    assert.deepEqual(u.filters, [{ event: 'user', name: 'deploy' }, { event: 'query', name: 'load' }])
    assert.equal(u.script, './x.sh a=b', 'only the first = splits')
    assert.throws(() => parseEventHandler('member-joined=./x.sh'), /unknown event filter "member-joined"; filters are member-join, member-leave/)
    assert.throws(() => parseEventHandler('user='), /no script/)
  })

  it('writes a member as NAME\\tIP\\tROLE\\tTAGS with tabs and newlines escaped, and a payload with a final newline', () => {
    assert.equal(memberLine(member('web-1', { role: 'web', dc: 'east' })), 'web-1\t10.0.0.7\tweb\trole=web,dc=east\n')
    assert.equal(memberLine(member('odd\tname', { note: 'a\nb' })), 'odd\\tname\t10.0.0.7\t\tnote=a\\nb\n')
    assert.equal(payloadStdin(Buffer.from('v42')).toString(), 'v42\n')
    assert.equal(payloadStdin(Buffer.from('v42\n')).toString(), 'v42\n')
    assert.equal(payloadStdin(new Uint8Array(0)).length, 0)
  })

  it('names tag variables SERF_TAG_<KEY> upper-cased with other characters as _', () => {
    assert.deepEqual(selfEnv(member('me', { role: 'db', 'zone-id': 'a', 'x.y': 'z' })), {
      SERF_SELF_NAME: 'me', SERF_SELF_ROLE: 'db', SERF_TAG_ROLE: 'db', SERF_TAG_ZONE_ID: 'a', SERF_TAG_X_Y: 'z',
    })
  })
})

/** A script that appends SERF_* variables and stdin of each run to `out`, as one record. */
function dumpScript(dir: string, name: string): { script: string; out: string } {
  const out = join(dir, `${name}.out`)
  const script = join(dir, `${name}.sh`)
  writeFileSync(script, `#!/bin/sh\n{ echo "--- run"; env | grep '^SERF_' | sort; echo "--- stdin"; cat; echo "--- end"; } >> '${out}'\n`)
  chmodSync(script, 0o755)
  return { script, out }
}

/** The runs recorded by dumpScript: each with its SERF_* variables and stdin. */
function runsOf(out: string): Array<{ env: Record<string, string>; stdin: string }> {
  if (!existsSync(out)) return []
  // Only whole records: the file may be read while a script is still writing one.
  return readFileSync(out, 'utf8').split('--- run\n').slice(1).filter((r) => r.endsWith('--- end\n')).map((r) => {
    const [envText, rest] = r.split('--- stdin\n')
    const stdin = rest.slice(0, -'--- end\n'.length)
    const env = Object.fromEntries(envText.trim().split('\n').filter((l) => l !== '').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
    return { env, stdin }
  })
}

describe('an agent running handler scripts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gv-handlers-'))
  const joins = dumpScript(dir, 'join')
  const users = dumpScript(dir, 'user')
  const logLines: string[] = []
  let h1: Agent
  let h2: Agent
  before(async () => {
    const answer = join(dir, 'answer.sh')
    writeFileSync(answer, `#!/bin/sh\nprintf 'load of %s: %s' "$SERF_SELF_NAME" "$(cat)"\n`)
    chmodSync(answer, 0o755)
    const { Agent: AgentClass } = await import('../../src/agent/agent.js')
    const { agentConfig } = await import('./helpers.js')
    h1 = await AgentClass.start(
      agentConfig('h1', {
        tag: ['role=web', 'zone-id=a'],
        logLevel: 'info',
        eventHandler: [`member-join=${joins.script}`, `user:deploy=${users.script}`, `query:load=${answer}`, 'user:boom=exit 3', 'user:hang=sleep 30', 'member-failed=/no/such/script'],
        eventHandlerTimeout: '700',
      }),
      { logDestination: { write: (l: string) => void logLines.push(l) } },
    )
    h2 = await startTestAgent('h2', { tag: ['role=db'], join: [gossipAddress(h1)] })
    await waitFor('h1 sees h2', () => h1.node.members().some((m) => m.name === 'h2' && m.state === 'alive'), 10_000)
  })
  after(() => stopAll([h1, h2]))

  it('member-join runs with Serf\'s variables and the member on stdin', async () => {
    // Coalesced as in Serf: h2's line may share a run with h1's own join.
    const hasH2 = (stdin: string): boolean => stdin.split('\n').some((l) => l.startsWith('h2\t'))
    await waitFor('the join handler ran for h2', () => runsOf(joins.out).some((r) => hasH2(r.stdin)), 10_000)
    const r = runsOf(joins.out).find((x) => hasH2(x.stdin))!
    assert.equal(r.env.SERF_EVENT, 'member-join')
    assert.equal(r.env.SERF_SELF_NAME, 'h1')
    assert.equal(r.env.SERF_SELF_ROLE, 'web')
    assert.equal(r.env.SERF_TAG_ZONE_ID, 'a')
    assert.ok(r.stdin.split('\n').includes('h2\t127.0.0.1\tdb\trole=db'), r.stdin)
  })

  it('user:deploy runs for deploy only, with the name, Lamport time and payload', async () => {
    const sent = await runCli(['event', 'deploy', 'v42', '--http', h2.httpAddress])
    assert.equal(sent.code, 0, sent.stderr)
    await runCli(['event', 'other', 'x', '--http', h2.httpAddress])
    await waitFor('the deploy handler ran', () => runsOf(users.out).length >= 1, 10_000)
    const [r] = runsOf(users.out)
    assert.equal(r.env.SERF_EVENT, 'user')
    assert.equal(r.env.SERF_USER_EVENT, 'deploy')
    assert.match(r.env.SERF_USER_LTIME, /^\d+$/)
    assert.equal(r.stdin, 'v42\n')
    assert.equal(runsOf(users.out).length, 1, 'the event named other did not match user:deploy')
  })

  it('a query handler\'s output is the response', async () => {
    const q = await runCli(['query', 'load', 'now', '--timeout', '2s', '--json', '--http', h2.httpAddress])
    assert.equal(q.code, 0, q.stderr)
    const body = JSON.parse(q.stdout) as { responses: Array<{ from: string; payload: string }> }
    assert.deepEqual(body.responses, [{ from: 'h1', payload: 'load of h1: now' }])
  })

  it('a failing, a missing and a hanging script are logged; the agent carries on', async () => {
    await runCli(['event', 'boom', '', '--http', h2.httpAddress])
    await runCli(['event', 'hang', '', '--http', h2.httpAddress])
    await waitFor('both logged', () => logLines.some((l) => /exit code 3/.test(l)) && logLines.some((l) => /killed after 700 ms/.test(l)), 10_000)
    await h2.stop({ leave: false })
    await waitFor('the missing script for member-failed is logged', () => logLines.some((l) => /"script":"\/no\/such\/script".*exit code 127/.test(l)), 20_000)
    const members = await runCli(['members', '--http', h1.httpAddress])
    assert.equal(members.code, 0, 'the agent still answers')
  })
})

test('a real serf agent and a Grapevine agent run the same script with the same variables and stdin', { timeout: 90_000 }, async (t) => {
  if (!requireSerf(t)) return
  const dir = mkdtempSync(join(tmpdir(), 'gv-handlers-serf-'))
  const serfDump = dumpScript(dir, 'serf')
  const gvDump = dumpScript(dir, 'gv')
  const serfAgents: SerfAgent[] = []
  let gv: Agent | undefined
  let joiner: Agent | undefined
  try {
    const s = await startSerf('serf-h', serfAgents, [`-event-handler=user:hello,member-join=${serfDump.script}`, '-tag', 'role=cache'])
    gv = await startTestAgent('gv-h', { tag: ['role=cache', 'env=test'], join: [s.bind], eventHandler: [`user:hello,member-join=${gvDump.script}`] })
    joiner = await startTestAgent('gv-joiner', { tag: ['role=api'], join: [s.bind] })
    // Both coalesce member events into runs of several lines (which members share a run depends on
    // timing); the lines, and the variables of the runs, are the same.
    const joinLines = (out: string): string[] => runsOf(out).filter((r) => r.env.SERF_EVENT === 'member-join').flatMap((r) => r.stdin.split('\n').filter((l) => l !== ''))
    const canonical = (line: string): string => {
      const [name, ip, role, tags] = line.split('\t')
      return [name, ip, role, tags.split(',').sort().join(',')].join('\t') // Go's map order is random
    }
    const everyone = ['serf-h', 'gv-h', 'gv-joiner']
    const seenBy = (out: string): string[] => joinLines(out).map((l) => l.split('\t')[0])
    await waitUntil('both ran member-join for all three', () => everyone.every((n) => seenBy(serfDump.out).includes(n) && seenBy(gvDump.out).includes(n)), 20_000, () => s.log.slice(-2000))
    for (const n of everyone) {
      const a = joinLines(serfDump.out).find((l) => l.startsWith(`${n}\t`))!
      const b = joinLines(gvDump.out).find((l) => l.startsWith(`${n}\t`))!
      assert.equal(canonical(b), canonical(a), `member line of ${n}`)
    }
    const sa = runsOf(serfDump.out).find((r) => r.env.SERF_EVENT === 'member-join')!
    const gb = runsOf(gvDump.out).find((r) => r.env.SERF_EVENT === 'member-join')!
    assert.deepEqual(Object.keys(gb.env).sort(), Object.keys(sa.env).sort())
    const sent = await serfCommand(['event', `-rpc-addr=${s.rpc}`, 'hello', 'world'])
    assert.equal(sent.code, 0, sent.output)
    const userRun = (out: string) => runsOf(out).find((r) => r.env.SERF_EVENT === 'user')
    await waitUntil('both ran the user event', () => userRun(serfDump.out) !== undefined && userRun(gvDump.out) !== undefined, 20_000, () => s.log.slice(-2000))
    const u = userRun(serfDump.out)!
    const v = userRun(gvDump.out)!
    assert.equal(v.stdin, u.stdin, 'payload on stdin')
    for (const k of ['SERF_EVENT', 'SERF_USER_EVENT', 'SERF_USER_LTIME', 'SERF_SELF_ROLE', 'SERF_TAG_ROLE', 'SERF_TAG_ENV']) assert.equal(v.env[k], u.env[k], k)
    assert.deepEqual(Object.keys(v.env).sort(), Object.keys(u.env).sort(), 'the same variables')
  } finally {
    await stopAll([gv, joiner])
    await stopSerf(serfAgents.map((a) => a.proc))
  }
})

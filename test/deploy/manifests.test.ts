// The deployment files as Kubernetes and the agent read them: every manifest validates against the
// Kubernetes schemas (kubernetes-models), the pieces refer to each other correctly (selectors, port
// names, the headless Service as the seed, the Secret's keys, the ServiceAccount's Role), and the
// container's arguments and environment, expanded as the kubelet does, are accepted by the agent's
// own flag parser and configuration check and mean what the manifests' comments say.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { parseAllDocuments } from 'yaml'
import { buildProgram } from '../../src/cli/program.js'
import { resolveAgentConfig } from '../../src/agent/config.js'
import type { AgentConfig, RawAgentFlags } from '../../src/agent/config.js'
import { parseSeed } from '../../src/runtime/node/discovery/seed-spec.js'

const ROOT = new URL('../../../', import.meta.url)
const DIR = new URL('deploy/kubernetes/', ROOT)

// Parsed YAML is untyped; the assertions say what each field must be.
type Obj = Record<string, any>

function manifests(): Array<{ file: string; doc: Obj }> {
  const out: Array<{ file: string; doc: Obj }> = []
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml').sort()) {
    for (const d of parseAllDocuments(readFileSync(new URL(file, DIR), 'utf8'))) {
      assert.deepEqual(d.errors, [], `${file}: YAML errors`)
      out.push({ file, doc: d.toJS() as Obj })
    }
  }
  return out
}

const byKind = (kind: string, name?: string): Obj => {
  const found = manifests().filter((m) => m.doc.kind === kind && (name === undefined || m.doc.metadata.name === name))
  assert.equal(found.length, 1, `one ${kind}${name ? ` ${name}` : ''}`)
  return found[0].doc
}

/** The Dockerfile's final stage: ENV, USER, EXPOSE, ENTRYPOINT, CMD, STOPSIGNAL. */
function dockerfile(): { env: Record<string, string>; user: string; expose: string[]; entrypoint: string[]; cmd: string[]; stopSignal: string } {
  const text = readFileSync(new URL('Dockerfile', ROOT), 'utf8').replace(/\\\n/g, ' ')
  const stages = text.split(/^FROM /m)
  const last = stages[stages.length - 1].split('\n').filter((l) => !l.trimStart().startsWith('#'))
  const line = (op: string): string[] => last.filter((l) => l.startsWith(`${op} `)).map((l) => l.slice(op.length + 1).trim())
  const env: Record<string, string> = {}
  for (const l of line('ENV')) for (const m of l.matchAll(/(\w+)=(\S+)/g)) env[m[1]] = m[2]
  return {
    env,
    user: line('USER')[0],
    expose: line('EXPOSE').flatMap((l) => l.split(/\s+/)),
    entrypoint: JSON.parse(line('ENTRYPOINT')[0]) as string[],
    cmd: JSON.parse(line('CMD')[0]) as string[],
    stopSignal: line('STOPSIGNAL')[0],
  }
}

test('every manifest validates against the Kubernetes schemas, and the kustomization lists every file', async () => {
  const all = manifests()
  assert.deepEqual(all.map((m) => `${m.doc.apiVersion} ${m.doc.kind}`).sort(), [
    'apps/v1 StatefulSet', 'policy/v1 PodDisruptionBudget', 'rbac.authorization.k8s.io/v1 Role', 'rbac.authorization.k8s.io/v1 RoleBinding',
    'v1 Service', 'v1 Service', 'v1 ServiceAccount',
  ])
  for (const { file, doc } of all) {
    const mod = (await import(`kubernetes-models/${doc.apiVersion}/${doc.kind}`)) as Record<string, new (d: Obj) => { validate(): void }>
    const Model = mod[doc.kind]
    assert.doesNotThrow(() => new Model(doc).validate(), `${file}: ${doc.kind} ${doc.metadata?.name}`)
  }
  // The schemas catch wrong types, missing required fields and bad values: a broken copy fails.
  const { StatefulSet } = await import('kubernetes-models/apps/v1/StatefulSet')
  const broken = structuredClone(byKind('StatefulSet'))
  broken.spec.template.spec.containers[0].ports[0].containerPort = '7946'
  assert.throws(() => new StatefulSet(broken).validate(), /containerPort must be integer/)
  const kustomization = parseAllDocuments(readFileSync(new URL('kustomization.yaml', DIR), 'utf8'))[0].toJS() as Obj
  assert.deepEqual([...kustomization.resources].sort(), [...new Set(all.map((m) => m.file))].sort())
})

test('the pieces refer to each other: selectors, the headless seed Service, ports, probes, RBAC, disruption budget', () => {
  const sts = byKind('StatefulSet')
  const pod = sts.spec.template
  const labels = pod.metadata.labels as Record<string, string>
  const matches = (selector: Record<string, string>): boolean => Object.entries(selector).every(([k, v]) => labels[k] === v)
  assert.ok(matches(sts.spec.selector.matchLabels))
  const headless = byKind('Service', sts.spec.serviceName)
  assert.equal(headless.spec.clusterIP, 'None')
  assert.equal(headless.spec.publishNotReadyAddresses, true, 'not-ready pods must be seeds: a pod is ready only after joining')
  assert.equal(sts.spec.podManagementPolicy, 'Parallel')
  const http = byKind('Service', 'grapevine')
  const pdb = byKind('PodDisruptionBudget')
  for (const s of [headless.spec.selector, http.spec.selector, pdb.spec.selector.matchLabels]) assert.ok(matches(s), JSON.stringify(s))
  assert.equal(pdb.spec.maxUnavailable, 1)

  const c = pod.spec.containers[0]
  const ports = new Map<string, Obj>(c.ports.map((p: Obj) => [p.name, p]))
  assert.deepEqual([ports.get('gossip')?.containerPort, ports.get('gossip')?.protocol, ports.get('gossip-udp')?.containerPort, ports.get('gossip-udp')?.protocol], [7946, 'TCP', 7946, 'UDP'])
  for (const svc of [headless, http]) for (const p of svc.spec.ports) assert.equal(ports.get(p.targetPort)?.protocol, p.protocol, `${svc.metadata.name} ${p.name}`)
  // The k8s:// discovery's default port name is the headless Service's TCP port.
  assert.equal(headless.spec.ports.find((p: Obj) => p.protocol === 'TCP').name, 'gossip')
  assert.deepEqual([c.readinessProbe.httpGet.path, c.readinessProbe.httpGet.port, c.livenessProbe.httpGet.path, c.livenessProbe.httpGet.port], ['/health/ready', 'http', '/health/live', 'http'])
  assert.equal(pod.metadata.annotations['prometheus.io/scrape'], 'true')
  assert.equal(Number(pod.metadata.annotations['prometheus.io/port']), ports.get('http')?.containerPort)
  assert.equal(pod.metadata.annotations['prometheus.io/path'], '/metrics')

  // Non-root on a read-only root filesystem, as the image's user.
  assert.equal(c.securityContext.readOnlyRootFilesystem, true)
  assert.equal(c.securityContext.allowPrivilegeEscalation, false)
  assert.deepEqual(c.securityContext.capabilities.drop, ['ALL'])
  assert.equal(pod.spec.securityContext.runAsNonRoot, true)
  assert.equal(`${pod.spec.securityContext.runAsUser}:${pod.spec.securityContext.runAsGroup}`, dockerfile().user)

  // RBAC: the pods' ServiceAccount may list EndpointSlices (k8s:// seeds).
  const role = byKind('Role')
  const binding = byKind('RoleBinding')
  assert.equal(pod.spec.serviceAccountName, byKind('ServiceAccount').metadata.name)
  assert.deepEqual(binding.subjects, [{ kind: 'ServiceAccount', name: pod.spec.serviceAccountName }])
  assert.equal(binding.roleRef.name, role.metadata.name)
  assert.ok(role.rules.some((r: Obj) => r.apiGroups.includes('discovery.k8s.io') && r.resources.includes('endpointslices') && r.verbs.includes('list')))
  assert.equal(parseSeed('k8s://?service=grapevine-gossip', 7946).kind, 'k8s', 'the k8s:// alternative in the comments parses')
})

/** The container's environment as the kubelet gives it: field references and Secret keys filled in. */
function podEnv(c: Obj, secret: Record<string, string>): Record<string, string> {
  const fields: Record<string, string> = { 'metadata.name': 'grapevine-1', 'metadata.namespace': 'prod', 'status.podIP': '10.244.1.7', 'spec.nodeName': 'worker-a' }
  const env: Record<string, string> = {}
  for (const e of c.env as Obj[]) {
    if (e.value !== undefined) env[e.name] = expand(String(e.value), env)
    else if (e.valueFrom.fieldRef !== undefined) env[e.name] = fields[e.valueFrom.fieldRef.fieldPath]
    else if (e.valueFrom.secretKeyRef !== undefined) {
      assert.equal(e.valueFrom.secretKeyRef.name, 'grapevine')
      env[e.name] = secret[e.valueFrom.secretKeyRef.key]
      assert.ok(env[e.name] !== undefined, `the Secret has no key ${e.valueFrom.secretKeyRef.key}`)
    }
  }
  return env
}

/** Kubernetes' $(VAR) expansion in args: a defined variable is replaced, an unknown one left as is. */
function expand(text: string, env: Record<string, string>): string {
  return text.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, name: string) => env[name] ?? all)
}

async function agentFlags(args: readonly string[]): Promise<RawAgentFlags> {
  const program = buildProgram()
  const agent = program.commands.find((c) => c.name() === 'agent')!
  let flags: RawAgentFlags | undefined
  agent.action((f: RawAgentFlags) => {
    flags = f
  })
  await program.parseAsync([...args], { from: 'user' })
  assert.ok(flags !== undefined, 'the agent command ran')
  return flags
}

test('the image runs the agent with the manifests\' arguments and environment, and the agent accepts them as meant', async () => {
  const image = dockerfile()
  const pkg = JSON.parse(readFileSync(new URL('package.json', ROOT), 'utf8')) as { bin: Record<string, string> }
  assert.equal(image.entrypoint[1], `/app/${pkg.bin.grapevine}`, 'the entrypoint is the grapevine command')
  assert.deepEqual(image.cmd, ['agent'])
  assert.equal(image.stopSignal, 'SIGTERM')
  assert.deepEqual([...image.expose].sort(), ['7946/tcp', '7946/udp', '7980/tcp'])
  assert.ok(!image.user.startsWith('0'), 'not root')

  const c = byKind('StatefulSet').spec.template.spec.containers[0]
  const key = Buffer.alloc(32, 7).toString('base64')
  const env = { ...image.env, ...podEnv(c, { 'encrypt-key': key, 'http-token': 'a-token' }) }
  const args = (c.args as string[]).map((a) => expand(a, env))
  assert.equal(args[0], 'agent')
  assert.ok(!args.some((a) => /\$\(/.test(a)), `every $(VAR) is defined: ${args.join(' ')}`)
  const flags = await agentFlags(args)
  // Files the agent would read do not exist yet in a new pod: the keyring file starts empty.
  const config: AgentConfig = resolveAgentConfig(flags, env, (p) => {
    throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' })
  })
  assert.equal(config.name, 'grapevine-1')
  assert.equal(config.advertise, '10.244.1.7')
  assert.equal(config.bind, '0.0.0.0:7946')
  assert.equal(config.http, '0.0.0.0:7980')
  assert.equal(config.httpToken, 'a-token')
  assert.equal(config.metricsPublic, true)
  assert.deepEqual(config.join, ['dns://grapevine-gossip.prod.svc.cluster.local:7946'])
  const seed = parseSeed(config.join[0], 7946)
  assert.ok(seed.kind === 'dns' && seed.name.startsWith(`${byKind('StatefulSet').spec.serviceName}.`), 'the seed is the headless Service')
  assert.equal(config.joinRetryMax, 0)
  assert.equal(config.discovery.rediscoverIntervalMs, 30_000)
  assert.equal(config.label, 'grapevine')
  assert.deepEqual(config.keys, [key])
  assert.equal(config.logFormat, 'json')
  assert.deepEqual(config.tags, { 'k8s-node': 'worker-a' })
  // What the agent writes is on the data volume; nothing else is writable.
  const writable = (c.volumeMounts as Obj[]).map((m) => m.mountPath as string)
  for (const file of [config.snapshot, config.keyringFile]) assert.ok(file !== undefined && writable.some((w) => file.startsWith(`${w}/`)), `${file} is on a mounted volume`)
})

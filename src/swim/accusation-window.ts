/**
 * Accusation storms as one node sees them: from the accusations it recorded (its own SWIM events), the
 * rates of suspicions, refutations and dead declarations over a recent window, and each member accused
 * in that window with its distinct accusers; a member with STORM_ACCUSERS or more is "accused by many".
 *
 *   suspected(X, from A)   one accusation of X by A (a confirmation by B is another: suspected, from B)
 *   failed(X, from A)      a dead declaration of X, by A (us, when our timer expired)
 *   alive(X)               X refuted: no longer open (its accusers still show until the window passes
 *                          them, or a new accusation starts a new list)
 *   refuted (about us)     we refuted an accusation about ourselves
 *        │
 *        ▼  summarizeAccusations(records, now)
 *   { perSecond: { suspicions, refutations, deaths }, accused: [{ member, accusers, many, open }] }
 *
 * Pure: the caller keeps the records (a bounded ring) and passes the time. The agent's metrics and the
 * dashboard both summarize with it, so a storm looks the same in Prometheus and on the page.
 */

/** One accusation-related fact, as the dashboard's suspicion ring and the metrics record it. */
export interface AccusationRecord {
  readonly type: 'suspected' | 'failed' | 'alive' | 'refuted'
  /** The member concerned (for `refuted`, ourselves). */
  readonly member: string
  /** The accuser, for `suspected` and `failed`; null otherwise or when unknown. */
  readonly from: string | null
  /** When it was recorded, in the caller's clock (ms). */
  readonly at: number
}

export interface AccusedMember {
  readonly member: string
  /** Distinct accusers within the window, oldest first; an accusation after a refutation starts the list again. */
  readonly accusers: readonly string[]
  /** At least STORM_ACCUSERS accusers within the window. */
  readonly many: boolean
  /** Still accused (no refutation after the last accusation). */
  readonly open: boolean
  /** The last accusation's time. */
  readonly lastAt: number
}

export interface AccusationSummary {
  readonly windowMs: number
  /** Per second over the window: accusations (confirmations included), refutations seen (ours and others'), dead declarations seen. */
  readonly perSecond: { readonly suspicions: number; readonly refutations: number; readonly deaths: number }
  /** Members accused within the window, most accusers first. */
  readonly accused: readonly AccusedMember[]
}

/** The window over which rates and accusers are counted. */
export const STORM_WINDOW_MS = 10_000
/** Distinct accusers within the window that make a member "accused by many". */
export const STORM_ACCUSERS = 3

/** Summarizes the records (in time order) that fall within `windowMs` before `nowMs`. */
export function summarizeAccusations(records: readonly AccusationRecord[], nowMs: number, windowMs = STORM_WINDOW_MS): AccusationSummary {
  const from = nowMs - windowMs
  let suspicions = 0
  let refutations = 0
  let deaths = 0
  const byMember = new Map<string, { accusers: string[]; open: boolean; lastAt: number }>()
  for (const r of records) {
    if (r.at <= from || r.at > nowMs) continue
    switch (r.type) {
      case 'suspected':
      case 'failed': {
        if (r.type === 'suspected') suspicions++
        else deaths++
        let m = byMember.get(r.member)
        if (m === undefined || !m.open) byMember.set(r.member, (m = { accusers: [], open: true, lastAt: r.at }))
        m.lastAt = r.at
        if (r.from !== null && r.from !== r.member && !m.accusers.includes(r.from)) m.accusers.push(r.from)
        break
      }
      case 'alive': {
        refutations++
        const m = byMember.get(r.member)
        if (m !== undefined) m.open = false
        break
      }
      case 'refuted':
        refutations++
        break
    }
  }
  const seconds = windowMs / 1000
  const accused: AccusedMember[] = []
  for (const [member, m] of byMember) {
    if (m.accusers.length === 0) continue
    accused.push({ member, accusers: m.accusers, many: m.accusers.length >= STORM_ACCUSERS, open: m.open, lastAt: m.lastAt })
  }
  accused.sort((a, b) => b.accusers.length - a.accusers.length || b.lastAt - a.lastAt || (a.member < b.member ? -1 : 1))
  const rate = (n: number): number => Math.round((n / seconds) * 100) / 100
  return { windowMs, perSecond: { suspicions: rate(suspicions), refutations: rate(refutations), deaths: rate(deaths) }, accused }
}

/** Where a command writes: its standard output and its standard error, as text (tests collect both). */
export interface CommandIo {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
}

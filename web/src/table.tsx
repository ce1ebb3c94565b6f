/** A windowed table: only the visible rows are in the DOM, so 1,000 members scroll smoothly. */
import type { ComponentChildren } from 'preact'
import { useEffect, useRef, useState } from 'preact/hooks'

export interface Column<T> {
  label: string
  width: string
  cell: (row: T) => ComponentChildren
}

const ROW_HEIGHT = 30
const OVERSCAN = 6

export function VirtualTable<T>(props: {
  label: string
  rows: readonly T[]
  columns: ReadonlyArray<Column<T>>
  rowKey: (row: T) => string
  height: number
  selected?: string
  onSelect?: (row: T) => void
  rowClass?: (row: T) => string
}) {
  const { rows, columns, rowKey, height } = props
  const body = useRef<HTMLDivElement>(null)
  const [top, setTop] = useState(0)
  const [focus, setFocus] = useState(0)
  const template = columns.map((c) => c.width).join(' ')
  const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - OVERSCAN)
  const last = Math.min(rows.length, Math.ceil((top + height) / ROW_HEIGHT) + OVERSCAN)
  const focusRow = Math.min(focus, Math.max(0, rows.length - 1))

  useEffect(() => {
    const el = body.current?.querySelector<HTMLElement>(`[data-index="${focusRow}"]`)
    if (el !== null && el !== undefined && body.current?.contains(document.activeElement)) el.focus({ preventScroll: true })
  }, [focusRow, first])

  const move = (to: number): void => {
    const i = Math.max(0, Math.min(rows.length - 1, to))
    setFocus(i)
    const el = body.current
    if (el === null) return
    if (i * ROW_HEIGHT < el.scrollTop) el.scrollTop = i * ROW_HEIGHT
    else if ((i + 1) * ROW_HEIGHT > el.scrollTop + height) el.scrollTop = (i + 1) * ROW_HEIGHT - height
    setTop(el.scrollTop)
  }
  const onKey = (e: KeyboardEvent): void => {
    const page = Math.floor(height / ROW_HEIGHT)
    const to = { ArrowDown: focusRow + 1, ArrowUp: focusRow - 1, PageDown: focusRow + page, PageUp: focusRow - page, Home: 0, End: rows.length - 1 }[e.key]
    if (to !== undefined) {
      e.preventDefault()
      move(to)
    } else if ((e.key === 'Enter' || e.key === ' ') && rows[focusRow] !== undefined) {
      e.preventDefault()
      props.onSelect?.(rows[focusRow])
    }
  }

  return (
    <div class="vtable" role="grid" aria-label={props.label} aria-rowcount={rows.length + 1}>
      <div class="vrow vhead" role="row" style={{ gridTemplateColumns: template }}>
        {columns.map((c) => <div role="columnheader" key={c.label}>{c.label}</div>)}
      </div>
      <div class="vbody" ref={body} style={{ height: `${height}px` }} onScroll={(e) => setTop((e.currentTarget as HTMLDivElement).scrollTop)} onKeyDown={onKey}>
        <div style={{ height: `${rows.length * ROW_HEIGHT}px`, position: 'relative' }}>
          {rows.slice(first, last).map((row, k) => {
            const i = first + k
            const key = rowKey(row)
            return (
              <div
                key={key}
                role="row"
                data-index={i}
                data-key={key}
                aria-rowindex={i + 2}
                aria-selected={props.selected === key}
                tabIndex={i === focusRow ? 0 : -1}
                class={`vrow ${props.selected === key ? 'selected' : ''} ${props.rowClass?.(row) ?? ''}`}
                style={{ gridTemplateColumns: template, top: `${i * ROW_HEIGHT}px` }}
                onClick={() => {
                  setFocus(i)
                  props.onSelect?.(row)
                }}
              >
                {columns.map((c) => <div role="gridcell" key={c.label}>{c.cell(row)}</div>)}
              </div>
            )
          })}
        </div>
        {rows.length === 0 ? <div class="empty">nothing yet</div> : null}
      </div>
    </div>
  )
}

#!/usr/bin/env node
// The `grapevine` command of the agent package: the library's own CLI, now with every optional package installed.
import { run } from 'grapevine/cli'

process.exitCode = await run(process.argv.slice(2))

#!/usr/bin/env bun
/** The `tessera` command from a checkout (scripts/tessera runs it). */
import { launch } from "./launch.ts";

process.exitCode = await launch(process.argv.slice(2));

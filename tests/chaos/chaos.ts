/**
 * `deno task chaos`: the real daemon with the kubefwd simulator through every fault class, each checked
 * against the same invariants; prints one table at the end (tests/chaos/README.md explains it).
 */
import { printTableAtExit } from "./suite.ts";
import "./faults_child.ts";

printTableAtExit();

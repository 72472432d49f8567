/**
 * `deno task chaos`: the real daemon with the kubefwd simulator through every fault class, each checked
 * against the same invariants (invariants.ts); prints one table at the end (README: "Chaos suite").
 */
import { printTableAtExit } from "./suite.ts";
import "./faults_child.ts";
import "./faults_cluster.ts";
import "./faults_disk.ts";
import "./faults_control.ts";
import "./faults_signals.ts";

printTableAtExit();

/**
 * Expected LAZ bytes for `goldenLas()` (testing/laz-records.ts): 20 point-format-3 records, one chunk.
 *
 * How it was produced and verified (2026-11-28): generated once with `writeLazFile(goldenLas())`;
 * the same bytes were decoded with laz-perf 0.0.7 (LASzip's C++ decoder as WASM) back to exactly the
 * 20 input records, and the encoder that produced it reproduces LASzip's own autzen_trim.laz and
 * indoor.laz point data byte for byte (see pointwise.test.ts). golden.test.ts re-checks the laz-perf
 * decode every run, so this fixture pins the encoder output against unintended changes.
 */
export const GOLDEN_PF3_20_LAZ_BASE64 =
  "TEFTRgAAAAAAAAAAAAAAAAAAAAAAAAAAAQIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAOMATQEAAAEAAACDIgAUAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB7FK5H4XqEP3sUrkfheoQ/exSuR+F6hD8AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAGxhc3ppcCBlbmNvZGVkAAC8VjQAcmVhbGNvbnYgbGF6ZW5jAAAAAAAAAAAAAAAAAAAAAAACAAAAAwQDAAAAAABQwwAA/////////////////////wMABgAUAAIABwAIAAIACAAGAAIAsQIAAAAAAACghgEAeOz//8gAAADoA0kC9gAHAAAAAACQHMhAAAAAAAAA2EpBdy2P2K6vAdkAYAcLVBBW/jmgrp6aOfkkQBGiNtcnP3KWtV6Jq0xu7vVaBysSQLa6DaF38iSt+A2JmWxS3pj65+88FgZMzwVcANcKi9NdURuaF3tvHtf6fdrQd9YtjHJj9Ma1Fd7ZuW8476PNO6b9NuG6XJLeZMdkaNu4eP72/GYtK+qQPDxrl7HPCgYHxfUwfSETRVUNaSGU/88Lh3MGhhgaTwBn2eWDxQ4eJQMqJw0xPezzJQP/6khQ2K5VklcJWYk1KI9x3Hgg9K3OyJmRlos7yAXtSFJNSBEEhUXvM7lrSnMom2Gt+jnt2BGxj2rQoAc/hENu+QtVsG2yUrnETfyBZfaQLRpR7KvAYLOhdhxziGhjwkW8CS0Js8z2LCD8pxRjbY05DRTHWwmVi02gz0aZ3aYAAAAAAAAAAQAAAEsSAAAA";

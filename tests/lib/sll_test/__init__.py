"""sll_test: what SLL's Python tests share. The tests find it through PYTHONPATH=tests/lib
(tests/run-all.sh, `make demo` and `make bench` set it; to run one test by hand from the top
of the tree: PYTHONPATH=tests/lib tests/policy/test-predict.py). One concern per module:

  paths        where the repository, the build tree and the programs under test are
  checks       the check list: one "ok"/"FAIL" line per check, then "N passed, N failed"
  pcr          PCR values computed with hashlib: the extend chain, PCR 17 of the simulated
               dynamic launch, slinit's launch events, the cap, the TPM2_PolicyPCR digest
  collect_ref  what each collector measures, from the specifications
  staging      boot partitions staged in a directory, and slpolicy new/predict over them
  eventlog     TCG event logs written by tests/tools/write-eventlog.c
  swtpm        swtpm's control channel, TPM commands over a socket, the DCE's hash sequence
               (tests/harness/drtm-relay.py uses these too) and a swtpm for tpm2-tools
  e2e          QEMU boots of an SL image (tests/harness/boot-qemu.sh) and what they showed
"""

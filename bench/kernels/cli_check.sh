#!/bin/bash
# Argument checks of kernel_bench that need no GPU (its options are parsed
# before any CUDA call): --help exits 0 and explains; bad values exit 1 with
# a message naming the flag. Run by `make cuda-check` (CI). Usage: cli_check.sh KERNEL_BENCH
set -u
bench=$1
fail=0
expect() {  # expect RC PATTERN ARGS...: exit status RC and PATTERN in the output
  local rc=$1 pat=$2
  shift 2
  local out got
  out=$("$bench" "$@" 2>&1)
  got=$?
  if [ "$got" != "$rc" ] || ! grep -q -- "$pat" <<<"$out"; then
    echo "cli_check: kernel_bench $* -> exit $got, want $rc and '$pat'; output: $out" >&2
    fail=1
  fi
}
expect 0 "Exit status" --help
expect 1 "--cols: 1..4096, not '0'" --cols 0
expect 1 "--cols: 1..4096, not 'x'" --cols 1,x
expect 1 "--variants: 0\.\." --variants 999
expect 1 "--shapes: llama7b, tinyllama, all" --shapes llama8b
expect 1 "bad shape '10x100'" --shapes 10x100
expect 1 "--x: f32 or q8" --x f16
expect 1 "--y: f32, f16 or bf16" --y q8
expect 1 "unknown or incomplete option '--bogus'" --bogus
expect 1 "unknown or incomplete option '--cols'" --cols
[ $fail = 0 ] && echo "cli_check: kernel_bench arguments OK"
exit $fail

#!/bin/sh
# Emits an assembler file that embeds each given file, NUL-terminated, plus a table
# `embedded_files[]` of {name, data} pairs ending in {0, 0}. See include/embedded.h.
set -eu
echo '    .section .rodata'
i=0
for f in "$@"; do
    echo "embedded_data_$i:"
    echo "    .incbin \"$f\""
    echo '    .byte 0'
    echo "embedded_name_$i:"
    echo "    .asciz \"$f\""
    i=$((i + 1))
done
echo '    .section .data.rel.ro'
echo '    .balign 8'
echo '    .globl embedded_files'
echo 'embedded_files:'
i=0
for f in "$@"; do
    echo "    .quad embedded_name_$i, embedded_data_$i"
    i=$((i + 1))
done
echo '    .quad 0, 0'
echo '    .section .note.GNU-stack,"",@progbits'

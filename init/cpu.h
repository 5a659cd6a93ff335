/* The CPUID instruction, for the cpuid collector's live values (slinit, sll-collect). */
#pragma once

#include "cpuleaves.h"

/* Executes CPUID for every leaf of the measured set, on the CPU this runs on. */
void cpu_read_leaves(struct cpuleaves *ret);

/* The CPUID instruction: the cpuid collector's live values (slinit, sll-collect). x86 only. */
#pragma once

#include "cpuleaves.h"

/* Executes CPUID for every leaf of the measured set, on the CPU this runs on. */
void cpuread_leaves(struct cpuleaves *ret);

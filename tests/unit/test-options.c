/* Unit test of init/options.c: the sl.* words of the kernel command line. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "options.h"

static int parse(const char *cmdline, struct sl_options *o, char *err)
{
	err[0] = '\0';
	return options_parse(cmdline, o, err, 256);
}

int main(void)
{
	struct sl_options o;
	char err[256];

	CHECK(parse("console=ttyS0 tpm_tis.locality=2", &o, err) == 0, "no sl. options");
	CHECK(strcmp(o.policy, "/slaunch/policy.json") == 0 && !o.boot[0] && !o.entry[0] &&
		      !o.debug && o.halt_delay == 10 && o.boot_timeout == 10,
	      "defaults");

	CHECK(parse("quiet sl.boot=LABEL=SLBOOT sl.policy=/p.json sl.entry=debian-old sl.debug "
		    "sl.halt_delay=0 sl.boot_timeout=30",
		    &o, err) == 0,
	      "all options");
	CHECK(strcmp(o.boot, "LABEL=SLBOOT") == 0, "sl.boot keeps its own '='");
	CHECK(strcmp(o.policy, "/p.json") == 0 && strcmp(o.entry, "debian-old") == 0, "strings");
	CHECK(o.debug && o.halt_delay == 0 && o.boot_timeout == 30, "flag and seconds");

	CHECK(parse("sl.policy=\"/my dir/p.json\"", &o, err) == 0 &&
		      strcmp(o.policy, "/my dir/p.json") == 0,
	      "quoted value with a space");

	CHECK(parse("sl.polcy=/x", &o, err) < 0 && strstr(err, "unknown option sl.polcy"),
	      "typo refused");
	CHECK(parse("sl.entry=a sl.entry=b", &o, err) < 0 && strstr(err, "given twice"),
	      "repeated option refused");
	CHECK(parse("sl.halt_delay=abc", &o, err) < 0 && strstr(err, "seconds"), "bad number");
	CHECK(parse("sl.halt_delay=99999", &o, err) < 0, "number out of range");
	CHECK(parse("sl.debug=yes", &o, err) < 0, "flag with a value");
	CHECK(parse("sl.boot=", &o, err) < 0 && strstr(err, "needs a value"), "empty value");
	CHECK(parse("sl.policy=relative.json", &o, err) < 0 && strstr(err, "absolute"),
	      "relative policy path");
	char long_entry[200];
	snprintf(long_entry, sizeof(long_entry), "sl.entry=%0100d", 0);
	CHECK(parse(long_entry, &o, err) < 0 && strstr(err, "longer"), "entry name too long");

	return check_summary("test-options");
}

"""hmm_command - the command line the hmm-run helpers run: looked up the
way hmm-run.in does it (the same messages, exit status 127)."""
import os
import shutil
import sys


def find(me, parser, argv):
    """The command of argv (argparse's REMAINDER: a leading "--" dropped),
    its program checked: a usage error (exit 2) when there is none, exit
    127 saying why when it cannot run."""
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        parser.error("no command given")
    cmd = argv[0]

    def cannot(why):
        print("%s: cannot run %s: %s" % (me, cmd, why), file=sys.stderr)
        sys.exit(127)

    if not cmd:
        cannot("the command is an empty string")
    if "/" in cmd:
        if not os.path.exists(cmd):
            cannot("no such file")
        if os.path.isdir(cmd):
            cannot("is a directory")
        if not os.access(cmd, os.X_OK):
            cannot("permission denied (not executable)")
    elif shutil.which(cmd) is None:
        cannot("command not found in PATH")
    return argv


"""hmm_allocators - the allocators libhmm is compared with, where Debian
installs them.  Shared by hmm-run --compare (tools/hmm-compare) and the
benchmark suite (bench/run-bench)."""
import sysconfig

# Debian's multiarch library directory (/usr/lib/x86_64-linux-gnu on amd64).
LIBDIR = "/usr/lib/" + (sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu")

PEERS = [
    # name, library to preload, Debian package
    ("jemalloc", LIBDIR + "/libjemalloc.so.2", "libjemalloc2"),
    ("tcmalloc", LIBDIR + "/libtcmalloc_minimal.so.4", "libtcmalloc-minimal4"),
    ("mimalloc", LIBDIR + "/libmimalloc.so.2", "libmimalloc2.0"),
]

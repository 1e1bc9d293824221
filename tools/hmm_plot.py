"""hmm_plot - matplotlib for hmm-run's drawings (--chart, --heap-map):
the output formats, loading matplotlib only when a picture is asked for
(with a message naming the Debian package when it is missing), saving."""
import os
import sys

FORMATS = (".png", ".svg")
PACKAGE = "python3-matplotlib"


def bad_format(path):
    """Why path cannot be drawn to (its extension), or None."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in FORMATS:
        return "%s: the picture's name must end in .png or .svg" % path
    return None


def pyplot(me):
    """matplotlib.pyplot, drawing to files only; exits 1 when it is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("%s: drawing needs matplotlib, which is not installed "
                 "(Debian: apt-get install %s)" % (me, PACKAGE))
    return plt


def save(fig, path):
    """Writes fig to path in the format its extension names."""
    if path.lower().endswith(".svg"):
        # No date: the same data give the same file.
        fig.savefig(path, format="svg", metadata={"Date": None})
    else:
        fig.savefig(path, format="png", dpi=100)

"""The errors archbench raises on purpose.

The CLI turns each into one line on stderr and an exit status; a library user catches them
like any other exception. Anything else escaping the CLI is a bug.
"""


class ArchbenchError(Exception):
    """A problem the user can fix (bad data file, bad run directory, ...). Exit status 1."""

    exit_code = 1


class UsageError(ArchbenchError):
    """A bad name or value on the command line or in a config file. Exit status 2."""

    exit_code = 2


class DataError(ArchbenchError):
    """A data set that is missing, corrupt or cannot be downloaded."""


class CheckpointError(ArchbenchError):
    """A run directory or checkpoint that archbench did not write, or that is damaged."""


class DivergedError(ArchbenchError):
    """The training loss became NaN or infinite: the run stopped, its last good checkpoint kept. Exit status 3."""

    exit_code = 3


class DirectoryBusy(ArchbenchError):
    """Another live archbench process is writing the directory (its lock names it). Exit status 1."""


class WriteFailed(ArchbenchError):
    """A file could not be written (disk full, read-only or unwritable file system); the old file is kept."""

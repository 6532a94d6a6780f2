/*
 * Quarantine: before a repair replaces a damaged log, a durable copy of the
 * damaged bytes is kept under a quarantine directory as
 * NAME.quarantine.<unix-ms>, so the evidence survives the repair.
 */
#ifndef PAPYRA_QUARANTINE_H
#define PAPYRA_QUARANTINE_H

#include "error.h"

/*
 * Copy the whole of the open file fd (the log at log_path) into dir,
 * creating dir when missing.  On success *out is the new file's path
 * (caller frees), and the copy and its name are on disk.  On failure
 * nothing of this call is left under the final name.
 */
int papyra_quarantine_copy(int fd, const char *log_path, const char *dir,
			   char **out, struct papyra_error *err);

#endif

/* arff.h — Weka ARFF as the UCR/UEA archives write it: numeric attributes and a nominal class
 * (univariate), or one relational attribute holding the channels and a nominal class (UEA). */
#ifndef ECGFM_CORE_ARFF_H
#define ECGFM_CORE_ARFF_H

#include <stddef.h>

#include "core/data/task.h"
#include "core/data/taskfmt.h"

/* One split. The class is the last attribute and must be nominal; its values, in declared order,
 * are the class names ('?' as a class gives label -1). The other attributes are either all
 * numeric (one value per time point) or a single relational attribute of numeric attributes
 * whose rows are the dimensions ('row1\nrow2\n...' with \n written as an escape, as UEA does).
 * '?' values are NaN; time points missing on every dimension at the end of a series (padding of
 * unequal-length data) are dropped. Sparse instances, string and date attributes are refused
 * with file:line messages. The problem name is the @relation name. lim may be NULL. */
ecg_code arff_parse_buffer(task_split *t, const char *buf, size_t len, const char *src,
                           const task_limits *lim, ecg_err *err);
ecg_code arff_read_file(task_split *t, const char *path, const task_limits *lim, ecg_err *err);

#endif

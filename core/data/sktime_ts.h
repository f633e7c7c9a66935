/* sktime_ts.h — the sktime/aeon .ts format of the UCR/UEA archives: '#' comments, @-tags
 * (@problemName, @univariate, @dimensions, @equalLength, @seriesLength, @classLabel), then @data.
 */
#ifndef ECGFM_CORE_SKTIME_TS_H
#define ECGFM_CORE_SKTIME_TS_H

#include <stddef.h>

#include "core/data/task.h"
#include "core/data/taskfmt.h"

/* One split. Each @data line is a case: dimensions separated by ':', values by ',', the class
 * label last when @classLabel is true. Class names keep the @classLabel order and a label not
 * declared there is an error; with @classLabel false there are no classes and every label is -1.
 * Univariate and multivariate, equal and unequal length; '?' and NaN are missing values (NaN).
 * A case whose dimensions differ in length is padded with NaN to its longest dimension.
 * Refused with file:line messages: timestamped data (@timeStamps true), regression targets
 * (@targetLabel true), a dimension count that differs from @dimensions or between cases, a
 * length that breaks @equalLength/@seriesLength, anything past the limits. lim may be NULL. */
ecg_code ts_parse_buffer(task_split *t, const char *buf, size_t len, const char *src,
                         const task_limits *lim, ecg_err *err);
ecg_code ts_read_file(task_split *t, const char *path, const task_limits *lim, ecg_err *err);

#endif

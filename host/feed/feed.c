/*
 * feed — what every feed shares: closing one, whatever its backend.
 */
#include "feed.h"

void feed_close(struct feed *f)
{
	if (f)
		f->ops->close(f);
}

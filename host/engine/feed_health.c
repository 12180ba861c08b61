/*
 * feed_health — what the engine does when its feed's health changes (a
 * FEED_STATUS event from a network feed, feed_net.c): while the feed is
 * down every strategy's new orders are refused with `feed_unhealthy` (the
 * order path checks e->feed_down; an operator's orders and a bracket's exits
 * still go), with on_down=cancel their working orders are cancelled too, and
 * each strategy is told by on_feed(ctx, {state, reason, detail}). Up again,
 * orders flow and on_feed says so. A status event moves no time.
 */
#include "engine-internal.h"
#include "log.h"

int engine_feed_status(struct engine *e, const struct feed_status *st)
{
	int down = !st->up, was = e->feed_down;
	e->feed_down = down;
	int cancelled = 0;
	for (int i = 0; i < e->nstrat && down && st->cancel; i++)
		cancelled += engine_cancel_working(&e->strats[i]);
	if (down && was)
		log_msg(LOG_WARN, "feed", "strategies still paused, now for %s", st->reason);
	else if (down)
		log_msg(LOG_WARN, "feed",
			"strategies paused (%s): orders refused as feed_unhealthy%s", st->reason,
			st->cancel ? "; working orders cancelled" : "");
	else
		log_msg(LOG_INFO, "feed", "strategies resumed: the feed is whole again");
	if (cancelled)
		log_msg(LOG_INFO, "feed", "%d working orders cancelled", cancelled);
	for (int i = 0; i < e->nstrat && !e->failed; i++) {
		struct strategy *s = &e->strats[i];
		if (s->state == STRAT_QUARANTINED || !(s->info.callbacks & VM_ON_FEED))
			continue;
		int rc = vm_backend.on_feed(s->vm, st->up, st->reason, st->detail);
		engine_after_callback(e, s, rc, "on_feed");
	}
	return 0;
}

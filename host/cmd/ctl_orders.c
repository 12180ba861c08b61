/*
 * ctl_orders — what `ctl status` says of one working order beyond its
 * size and price: its type, a stop's trigger (a trailing stop's where it
 * stands now, and its distance), a bracket's exit (its role) and the other
 * order of its one-cancels-other pair, so an operator sees which orders
 * protect a position (they survive a halt) and which go together.
 */
#include "ctl.h"

static const char *role_name(int role)
{
	return role == ROLE_TAKE_PROFIT ? "take_profit"
	       : role == ROLE_STOP_LOSS ? "stop_loss"
					: NULL;
}

void ctl_order_marks(struct evbuffer *out, const struct order *o)
{
	evbuffer_add_printf(out, "\"type\": \"%s\", ", oms_type_name(o));
	if (o->stop > 0)
		evbuffer_add_printf(out, "\"stop\": %.10g, ", o->stop);
	if (o->trail > 0)
		evbuffer_add_printf(out, "\"%s\": %.10g, ", o->trail_pct ? "trail_pct" : "trail",
				    o->trail);
	if (role_name(o->role))
		evbuffer_add_printf(out, "\"bracket_exit\": \"%s\", ", role_name(o->role));
	if (o->oco)
		evbuffer_add_printf(out, "\"oco\": %lld, ", (long long)o->oco);
}

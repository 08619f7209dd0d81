/* The strategy table: one line per strategy, each defined in its own file as
 * `const struct balkon_opt_strategy opt_strategy_<name>`. The order is the order of
 * balkon_opt_strategies(). */
OPT_STRATEGY(self_consumption)
OPT_STRATEGY(optimal)
OPT_STRATEGY(fixed_schedule)

/* placeholder: replaced by the simulator implementation */

/* `balkonsolard import`: loads CSV exports (a generic timestamped table, Home Assistant's
 * history, SMARD and Energy-Charts day-ahead prices) into the daemon's database, so that
 * `simulate --db` replays your own year (docs/import.md). */
#ifndef BALKON_IMPORT_H
#define BALKON_IMPORT_H

enum balkon_import_format {
    BALKON_IMPORT_GENERIC,
    BALKON_IMPORT_HA,
    BALKON_IMPORT_SMARD,
    BALKON_IMPORT_ENERGY_CHARTS,
};

/* The command: argv[0] is "import". Returns the exit code: 0 imported, 1 the database
 * failed, 2 a bad option, a bad row or data refused (the message names file, line and
 * column, or the dates). */
int balkon_import_main(int argc, char **argv);

#endif

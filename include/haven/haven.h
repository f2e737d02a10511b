/*
 * haven/haven.h — the whole public API of libhaven.
 */
#ifndef HAVEN_HAVEN_H
#define HAVEN_HAVEN_H

#include "adjudicate.h"
#include "bulletin.h"
#include "auth.h"
#include "check.h"
#include "db.h"
#include "error.h"
#include "geo.h"
#include "incsv.h"
#include "ledger.h"
#include "notify.h"
#include "object.h"
#include "positions.h"
#include "probe.h"
#include "separation.h"
#include "tracks.h"
#include "zindex.h"

#endif

/*
 * haven/zindex.h — the point-in-zone index: which of N polygons contain a
 * point, answered exactly as GEOS answers it, many times faster.
 *
 * Built once from N polygonal geometries (Polygon or MultiPolygon, holes
 * allowed), each with a caller id; then queried by any number of threads at
 * once. Coordinates are lon/lat degrees treated as planar x/y, as GEOS
 * treats them.
 *
 * The answer: polygon i is reported for the point (lon, lat) exactly when
 * GEOSPreparedIntersects(polygon i, POINT(lon lat)) is true, i.e. GEOS
 * Covers: a point in the interior or on the boundary (on an edge or a
 * vertex, of the shell or of a hole) is inside; a point in a hole, strictly,
 * is outside. Membership is the even-odd rule over all the rings of the
 * geometry, with every orientation test computed exactly (no tolerance), so
 * a point 1e-12 degrees off an edge is on the side where it really lies.
 * Exactness assumes that products of two coordinates neither overflow nor
 * underflow (every nonzero coordinate of magnitude between 1e-140 and
 * 1e150), which holds for all geographic coordinates.
 */
#ifndef HAVEN_ZINDEX_H
#define HAVEN_ZINDEX_H

#include <stddef.h>
#include <stdint.h>

#include <geos_c.h>

#include "error.h"
#include "geo.h"

#ifdef __cplusplus
extern "C" {
#endif

struct hv_zindex;

/*
 * Builds an index over the n geometries polys[0..n-1] (borrowed, read only
 * during the call; the index keeps a copy of their coordinates). ids[i] is
 * the value the queries return for polys[i]; ids may be NULL, meaning ids[i]
 * = i. ids is borrowed. n may be 0: the index is empty and every query
 * answers 0. geo is used for its GEOS context during the call only (same
 * thread rules as the context).
 *
 * Refused, with HV_EGEOMETRY and a message naming the geometry, the ring
 * and the reason: a NULL geometry, a type other than Polygon or
 * MultiPolygon, an empty geometry or empty component, a non-finite
 * coordinate or one beyond 1e150 in magnitude, an open ring, a ring with fewer
 * than 3 distinct points or with all its points on one line (zero area).
 * Validity in the OGC sense (self-intersections, overlapping holes) is not
 * checked: an invalid polygon is answered by the even-odd rule, as GEOS's point
 * locator does. Other errors: HV_EINVAL (geo or out NULL, polys NULL with n >
 * 0, more than 2^30 geometries or 2^31 vertices), HV_ENOMEM. err may be NULL.
 *
 * On success *out is a new index the caller frees with hv_zindex_free();
 * on failure *out is NULL.
 */
int hv_zindex_new(struct hv_geo *geo, const GEOSGeometry *const *polys,
                  const uint32_t *ids, size_t n, struct hv_zindex **out,
                  struct hv_error *err);

/* Frees the index. NULL is a no-op. No query may be running on it. */
void hv_zindex_free(struct hv_zindex *ix);

/*
 * The ids of all the polygons containing (lon, lat) (see the rule above), in
 * the order the polygons were given. Writes the first min(count, cap) of
 * them to out (which may be NULL when cap is 0) and returns count, the
 * number of polygons containing the point: when it exceeds cap, call again
 * with a larger buffer. A point outside the envelope of all the polygons,
 * a non-finite coordinate or a NULL ix answers 0.
 *
 * Thread-safe: the index is read only, any number of threads may query it
 * at once. No allocation, no locks.
 */
size_t hv_zindex_query(const struct hv_zindex *ix, double lon, double lat,
                       uint32_t *out, size_t cap);

/* Bytes of memory held by the index (its arrays and itself). 0 for NULL. */
size_t hv_zindex_memory(const struct hv_zindex *ix);

/* The shape of a built index, for benchmarks and tuning. */
struct hv_zindex_stats {
  size_t polygons;   /* geometries indexed */
  size_t rings;      /* rings (shells and holes) */
  size_t edges;      /* edges, after dropping repeated points */
  unsigned top_cols; /* the top grid over the envelope */
  unsigned top_rows;
  size_t grids;            /* grids, the top one and the refinements */
  size_t cells;            /* cells over all grids */
  size_t crossing_entries; /* (cell, polygon) pairs whose edges are tested */
  size_t tested_edges;     /* edges stored in those entries */
  unsigned max_depth;      /* refinement levels below the top grid */
  size_t memory_bytes;     /* as hv_zindex_memory() */
};

/* Fills *out with the shape of ix (borrowed; NULL gives zeros). A NULL
 * out is ignored. */
void hv_zindex_stats(const struct hv_zindex *ix, struct hv_zindex_stats *out);

#ifdef __cplusplus
}
#endif
#endif

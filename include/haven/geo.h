/*
 * haven/geo.h — geometry and geodesy: GeoJSON geometries read into GEOS,
 * checked, measured in metres through PROJ.
 *
 * All coordinates are WGS84 longitude/latitude in degrees (RFC 7946 order:
 * lon, lat). Distances are geodesic on the WGS84 ellipsoid (PROJ's
 * geod_inverse); areas and buffers are computed by GEOS in a metric
 * projection built by PROJ around the geometry (Lambert azimuthal equal-area
 * for areas, azimuthal equidistant for buffers and distances), never in
 * degrees.
 *
 * A struct hv_geo is one GEOS context plus one PROJ context. It is not
 * thread-safe: use one per thread. Geometries it returns belong to its GEOS
 * context and are freed with hv_geo_geom_free() (or GEOSGeom_destroy_r with
 * hv_geo_geos()).
 */
#ifndef HAVEN_GEO_H
#define HAVEN_GEO_H

#include <geos_c.h>
#include <jansson.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

struct hv_geo;

/* Creates a context. Errors: HV_ENOMEM, HV_EGEODESY (PROJ could not start).
 * Caller frees with hv_geo_free(). */
int hv_geo_new(struct hv_geo **out);

/* Frees the context. NULL is a no-op. Every geometry made with it must have
 * been freed before. */
void hv_geo_free(struct hv_geo *geo);

/* The GEOS context handle, for direct GEOS calls. Borrowed. */
GEOSContextHandle_t hv_geo_geos(const struct hv_geo *geo);

/* Frees a geometry made by this context. NULL is a no-op. */
void hv_geo_geom_free(struct hv_geo *geo, GEOSGeometry *g);

/*
 * Reads an RFC 7946 geometry object (borrowed) into GEOS. Accepted types:
 * Point, LineString, Polygon, MultiPolygon, MultiLineString. Checks:
 * coordinates are finite numbers, -180 <= lon <= 180, -90 <= lat <= 90;
 * rings have >= 4 positions and are closed; polygons are valid by GEOS
 * (the reason, e.g. "Self-intersection[36.1 35.2]", goes into err).
 * An optional third coordinate (altitude) is accepted and ignored.
 * Errors: HV_EGEOMETRY, HV_ESCHEMA (not a geometry object), HV_ENOMEM.
 * The message in err names the field ("geometry.coordinates[0][5]") and the
 * reason; the caller prefixes it with the file and feature. Caller frees the
 * result with hv_geo_geom_free().
 */
int hv_geo_from_geojson(struct hv_geo *geo, const json_t *geometry,
                        GEOSGeometry **out, struct hv_error *err);

/* Writes g (borrowed) as an RFC 7946 geometry object. Caller owns the
 * result (json_decref). Errors: HV_ENOMEM, HV_EGEOMETRY (empty or
 * unsupported type). */
int hv_geo_to_geojson(struct hv_geo *geo, const GEOSGeometry *g, json_t **out);

/* Geodesic distance in metres and forward azimuth between two points on
 * WGS84 (PROJ geod_inverse). Thread-safe (the ellipsoid is constant). */
double hv_geo_distance_m(double lon1, double lat1, double lon2, double lat2);

/* Area of a polygonal geometry (borrowed) in square metres, computed in a
 * Lambert azimuthal equal-area projection centred on its envelope.
 * Errors: HV_EGEODESY, HV_EGEOMETRY, HV_ENOMEM. */
int hv_geo_area_m2(struct hv_geo *geo, const GEOSGeometry *g, double *out);

/* Buffers g (borrowed) by dist_m metres: projects it to an azimuthal
 * equidistant projection centred on its envelope, buffers there with GEOS,
 * projects back. Round caps and joins. Suited to geometries up to a few
 * hundred kilometres across. Caller frees the result.
 * Errors: HV_EGEODESY, HV_EGEOMETRY, HV_ENOMEM, HV_EINVAL (dist_m < 0). */
int hv_geo_buffer_m(struct hv_geo *geo, const GEOSGeometry *g, double dist_m,
                    GEOSGeometry **out);

/* Geodesic distance in metres from the point (lon, lat) to the nearest
 * point of g (borrowed); 0 when the point lies in or on g. The nearest point
 * is found by GEOS in an azimuthal equidistant projection centred on the
 * query point, and the distance to it is then measured with geod_inverse.
 * Errors: HV_EGEODESY, HV_EGEOMETRY, HV_ENOMEM. */
int hv_geo_distance_to_m(struct hv_geo *geo, double lon, double lat,
                         const GEOSGeometry *g, double *out);

/* GEOS predicates return 2 on exception; these wrappers return 1 (true),
 * 0 (false) or HV_EGEOMETRY. g and point are borrowed. */
int hv_geo_covers_point(struct hv_geo *geo, const GEOSPreparedGeometry *pg,
                        double lon, double lat);

#ifdef __cplusplus
}
#endif
#endif

/*
 * test-object.c — the schema of every kind of object and the zone semantics
 * (lib/object.c), through hv__object_new on hand-made documents.
 *
 * What must hold: an object exists only if its document passed its kind's
 * schema (every member known, required members present, enums in their
 * vocabulary, times parseable, phase history a chain of allowed
 * transitions ending in the current phase, geometry valid); a refusal names
 * the field; the zone predicates (phase at, in force, permits) follow
 * docs/formats.md.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "object.h"
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------- */

/* Makes an object of kind from doc (taken) that must be accepted. */
static struct hv_object *make_doc(struct hv_geo *geo, enum hv_kind kind,
                                  json_t *doc) {
  struct hv_object *o = NULL;
  struct hv_error err = {0};
  char *text = json_dumps(doc, JSON_COMPACT);
  int rc = hv__object_new(geo, kind, doc, &o, &err);
  if (rc != HV_OK)
    fail_msg("%s %s refused: %s: %s", hv_kind_name(kind), text, hv_err_name(rc),
             err.msg);
  free(text);
  assert_non_null(o);
  assert_int_equal(o->kind, kind);
  return o;
}

static struct hv_object *make(struct hv_geo *geo, enum hv_kind kind,
                              const char *text) {
  return make_doc(geo, kind, tu_js(text));
}

/* Makes an object from doc (taken) that must be refused with code, the
 * message holding every NULL-terminated needle. */
static void refuse_doc_v(struct hv_geo *geo, enum hv_kind kind, json_t *doc,
                         int code, va_list ap) {
  struct hv_object *o = (struct hv_object *)1;
  struct hv_error err = {0};
  char *text = json_dumps(doc, JSON_COMPACT);
  int rc = hv__object_new(geo, kind, doc, &o, &err);
  if (rc != code)
    fail_msg("%s %s: %s, expected %s (msg: %s)", hv_kind_name(kind), text,
             hv_err_name(rc), hv_err_name(code), err.msg);
  assert_null(o);
  for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
    if (strstr(err.msg, s) == NULL)
      fail_msg("%s %s: message \"%s\" lacks \"%s\"", hv_kind_name(kind), text,
               err.msg, s);
  free(text);
}

static void refuse_doc(struct hv_geo *geo, enum hv_kind kind, json_t *doc,
                       int code, ...) {
  va_list ap;
  va_start(ap, code);
  refuse_doc_v(geo, kind, doc, code, ap);
  va_end(ap);
}

static void refuse(struct hv_geo *geo, enum hv_kind kind, const char *text,
                   int code, ...) {
  va_list ap;
  va_start(ap, code);
  refuse_doc_v(geo, kind, tu_js(text), code, ap);
  va_end(ap);
}

static int64_t T(const char *text) {
  int64_t t = 0;
  if (hv_time_parse(text, &t) != HV_OK)
    fail_msg("bad test time %s", text);
  return t;
}

/* A valid document of each kind, with every member the kind allows. */
#define SQUARE                                                                 \
  "{'type':'Polygon','coordinates':[[[36,35],[37,35],[37,36],[36,36],[36,35]]" \
  "]}"
static const char *const VALID[HV_KIND_COUNT] = {
    [HV_PARTY] = "{'id':'syr-gov','name':'Government of Syria','kind':'state',"
                 "'aliases':['Government of Syria','SAA'],'sponsor':'ru',"
                 "'notes':'n','version':3}",
    [HV_AGREEMENT] =
        "{'id':'coh-2016','name':'CoH','kind':'cessation_of_hostilities',"
        "'valid_from':'2016-02-27T00:00:00Z','valid_to':null,"
        "'scope':'nationwide','covered':['syr-gov','opp'],"
        "'excluded':['is'],'guarantors':['us','ru'],"
        "'terms':['air_strike','shelling'],'separation':{'horizontal_m':"
        "18520,'vertical_m':609.6,'lookahead_s':600},'notes':'n'}",
    [HV_ZONE] =
        "{'id':'idlib','geometry':" SQUARE
        ",'name':'Idlib','kind':'de_escalation',"
        "'valid_from':'2017-05-06','valid_to':null,'alt_min_m':0,"
        "'alt_max_m':3000,'phase':'open','phase_history':["
        "{'phase':'declared','at':'2017-05-06','by':'ru'},"
        "{'phase':'established','at':'2017-05-10','by':'tr'},"
        "{'phase':'open','at':'2017-06-01','by':'coordinator','reason':'r'}],"
        "'guarantors':['tr','ru'],'rules':[{'parties':['*'],"
        "'asset_classes':['fixed_wing'],'inside':false,'overfly':false}],"
        "'capacity':1000,'population':20000,'notes':'n','source':'s'}",
    [HV_CORRIDOR] =
        "{'id':'cor','geometry':{'type':'LineString','coordinates':"
        "[[36.0,35.0],[36.2,35.0]]},'name':'Corridor','half_width_m':500,"
        "'connects':['idlib'],'windows':[{'from':'2017-07-01T06:00:00Z',"
        "'to':'2017-07-01T18:00:00Z'}],'status':'open','guarantors':['tr'],"
        "'notes':'n','source':'s'}",
    [HV_SITE] = "{'id':'hosp','geometry':{'type':'Point','coordinates':"
                "[36.633,35.93]},'name':'Hospital','category':'hospital',"
                "'radius_m':500,'notified_by':'un-ocha',"
                "'notified_at':'2017-07-01T00:00:00Z','recipients':['ru','tr'],"
                "'disclosure':'disclosed','review_by':'2017-10-01',"
                "'withdrawn_at':'2017-09-01','notes':'n','source':'s'}",
    [HV_DELINEATION] = "{'id':'del','geometry':" SQUARE ",'party':'syr-gov',"
                       "'valid_from':'2016-01-01','valid_to':'2017-01-01',"
                       "'notes':'n','source':'s'}",
    [HV_AREA] = "{'id':'SY07','geometry':" SQUARE ",'name':'Idleb',"
                "'pcode':'SY07','level':'adm1','source':'OCHA'}",
    [HV_MOVEMENT] =
        "{'id':'conv','geometry':{'type':'LineString','coordinates':"
        "[[36.0,35.0],[36.2,35.0]]},'name':'Convoy','kind':'convoy',"
        "'notified_by':'un-ocha','notified_at':'2017-06-28T00:00:00Z',"
        "'valid_from':'2017-07-01T06:00:00Z','valid_to':'2017-07-01T18:00:00Z',"
        "'vehicles':31,'markings':'white, UN logo','contact':'+41 22',"
        "'recipients':['*'],'disclosure':'disclosed','emergency':false,"
        "'half_width_m':150,'withdrawn_at':'2017-06-30',"
        "'completed_at':'2017-07-01T17:00:00Z','notes':'n'}",
    [HV_INCIDENT] =
        "{'id':'inc','geometry':{'type':'Point','coordinates':[36.7,34.8]},"
        "'time':'2016-03-02','time_end':'2016-03-03','location_precision':"
        "'near','uncertainty_m':2000,'event_type':'Explosions/Remote "
        "violence','sub_event_type':'Air/drone strike','perpetrator':"
        "'syr-gov','perpetrator_certainty':'suspected','sides':['syr-gov',"
        "'fsa'],'actors':['Government of Syria'],'target':'party',"
        "'target_party':'fsa','fatalities':3,'source':'UCDP',"
        "'source_id':'ucdp:1','confidence':'low','evidence':['sha256:"
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff'],"
        "'reporter':'r','hide_reporter':true,'coarsen_m':5000,'name':'x',"
        "'notes':'n'}",
    [HV_TOKEN] = "{'id':'0123456789ab','party':'ru','role':'party','hash':"
                 "'00112233445566778899aabbccddeeff00112233445566778899aabbccdd"
                 "eeff','label':'ops','created_at':'2026-01-01T00:00:00Z',"
                 "'revoked':false}",
};

static const char *const *const REQUIRED[HV_KIND_COUNT] = {
    [HV_PARTY] = (const char *const[]){"id", "name", "kind", NULL},
    [HV_AGREEMENT] = (const char *const[]){"id", "name", "kind", "valid_from",
                                           "scope", "covered", "terms", NULL},
    [HV_ZONE] = (const char *const[]){"id", "geometry", "name", "kind",
                                      "valid_from", "phase", NULL},
    [HV_CORRIDOR] = (const char *const[]){"id", "geometry", "name",
                                          "half_width_m", "status", NULL},
    [HV_SITE] = (const char *const[]){"id", "geometry", "name", "category",
                                      "radius_m", "notified_by", NULL},
    [HV_DELINEATION] =
        (const char *const[]){"id", "geometry", "party", "valid_from", NULL},
    [HV_AREA] = (const char *const[]){"id", "geometry", "name", NULL},
    [HV_MOVEMENT] =
        (const char *const[]){"id", "name", "kind", "notified_by", "valid_from",
                              "valid_to", "vehicles", NULL},
    [HV_INCIDENT] = (const char *const[]){"id", "geometry", "time",
                                          "event_type", NULL},
    [HV_TOKEN] = (const char *const[]){"id", "party", "role", "hash",
                                       "created_at", NULL},
};

/* ---- schema: all kinds --------------------------------------------------- */

static void test_valid_documents(void **state) {
  struct hv_geo *geo = *state;
  for (int k = 0; k < HV_KIND_COUNT; k++) {
    struct hv_object *o = make(geo, (enum hv_kind)k, VALID[k]);
    assert_non_null(o->id);
    assert_non_null(o->doc);
    if (k >= HV_ZONE && k != HV_TOKEN) {
      assert_non_null(o->geom);
      assert_non_null(o->prepared);
      assert_true(o->minx <= o->maxx && o->miny <= o->maxy);
    } else {
      assert_null(o->geom);
    }
    hv__object_free(geo, o);
  }
  hv__object_free(geo, NULL); /* a no-op */
  /* Fields of a few kinds. */
  struct hv_object *p = make(geo, HV_PARTY, VALID[HV_PARTY]);
  assert_string_equal(p->id, "syr-gov");
  assert_string_equal(p->name, "Government of Syria");
  assert_string_equal(p->u.party.kind, "state");
  assert_string_equal(p->u.party.sponsor, "ru");
  assert_string_equal(p->u.party.aliases[1], "SAA");
  assert_null(p->u.party.aliases[2]);
  assert_int_equal(p->version, 3);
  hv__object_free(geo, p);
  struct hv_object *a = make(geo, HV_AGREEMENT, VALID[HV_AGREEMENT]);
  assert_true(a->from_ms == T("2016-02-27T00:00:00Z"));
  assert_true(a->to_ms == HV_TIME_OPEN);
  assert_int_equal(a->u.agreement.nationwide, 1);
  assert_true(hv_ids_contain(a->u.agreement.covered, "opp"));
  assert_false(hv_ids_contain(a->u.agreement.covered, "is"));
  assert_true(hv_ids_contain(a->u.agreement.excluded, "is"));
  assert_true(hv_ids_contain(a->u.agreement.terms, "shelling"));
  assert_true(a->u.agreement.separation.has_horizontal &&
              a->u.agreement.separation.horizontal_m == 18520);
  assert_true(a->u.agreement.separation.has_vertical &&
              a->u.agreement.separation.vertical_m == 609.6);
  assert_true(a->u.agreement.separation.has_lookahead &&
              a->u.agreement.separation.lookahead_s == 600);
  hv__object_free(geo, a);
  struct hv_object *s = make(geo, HV_SITE, VALID[HV_SITE]);
  assert_true(s->u.site.lon == 36.633 && s->u.site.lat == 35.93);
  assert_true(s->u.site.radius_m == 500);
  assert_string_equal(s->u.site.notified_by, "un-ocha");
  assert_true(s->u.site.notified_ms == T("2017-07-01"));
  hv__object_free(geo, s);
  struct hv_object *d = make(geo, HV_DELINEATION, VALID[HV_DELINEATION]);
  assert_null(d->name);
  assert_string_equal(d->u.delineation.party, "syr-gov");
  assert_true(d->from_ms == T("2016-01-01") && d->to_ms == T("2017-01-01"));
  hv__object_free(geo, d);
  struct hv_object *ar = make(geo, HV_AREA, VALID[HV_AREA]);
  assert_string_equal(ar->u.area.pcode, "SY07");
  assert_true(ar->from_ms == 0 && ar->to_ms == HV_TIME_OPEN);
  hv__object_free(geo, ar);
}

static void test_required_members(void **state) {
  struct hv_geo *geo = *state;
  for (int k = 0; k < HV_KIND_COUNT; k++)
    for (const char *const *m = REQUIRED[k]; *m; m++) {
      json_t *doc = tu_js(VALID[k]);
      assert_int_equal(json_object_del(doc, *m), 0);
      char want[64];
      snprintf(want, sizeof want, "%s: missing", *m);
      refuse_doc(geo, (enum hv_kind)k, doc, HV_ESCHEMA, want,
                 hv_kind_name((enum hv_kind)k), NULL);
    }
  /* Optional members may all go. */
  struct hv_object *o = make(geo, HV_ZONE,
                             "{'id':'z','geometry':" SQUARE ",'name':'Z',"
                             "'kind':'safe','valid_from':'2017-01-01',"
                             "'phase':'declared'}");
  assert_true(isinf(o->u.zone.alt_min_m) && o->u.zone.alt_min_m < 0);
  assert_true(isinf(o->u.zone.alt_max_m) && o->u.zone.alt_max_m > 0);
  assert_int_equal(o->u.zone.n_rules, 0);
  assert_int_equal(o->u.zone.n_history, 0);
  assert_true(o->to_ms == HV_TIME_OPEN);
  hv__object_free(geo, o);
}

static void test_unknown_member_named(void **state) {
  struct hv_geo *geo = *state;
  for (int k = 0; k < HV_KIND_COUNT; k++) {
    json_t *doc = tu_js(VALID[k]);
    json_object_set_new(doc, "colour", json_string("red"));
    refuse_doc(geo, (enum hv_kind)k, doc, HV_ESCHEMA, "colour",
               "unknown member", NULL);
  }
  /* A member of another kind is unknown too (no valid_from on a party). */
  refuse(geo, HV_PARTY,
         "{'id':'x','name':'X','kind':'state','valid_from':'2016-01-01'}",
         HV_ESCHEMA, "valid_from", "unknown member for a party", NULL);
  /* Inside nested objects as well. */
  refuse(geo, HV_ZONE,
         "{'id':'z','geometry':" SQUARE ",'name':'Z','kind':'safe',"
         "'valid_from':'2017-01-01','phase':'declared','rules':[{'parties':"
         "['*'],'asset_classes':['uav'],'inside':true,'overfly':true,"
         "'altitude':1}]}",
         HV_ESCHEMA, "rules[0].altitude", "unknown member", NULL);
  refuse(geo, HV_CORRIDOR,
         "{'id':'c','geometry':{'type':'LineString','coordinates':[[36,35],"
         "[37,35]]},'name':'C','half_width_m':5,'status':'open','windows':"
         "[{'from':'2017-01-01','until':'2017-01-02'}]}",
         HV_ESCHEMA, "windows[0]", NULL);
}

static void test_member_types(void **state) {
  struct hv_geo *geo = *state;
  refuse(geo, HV_PARTY, "{'id':'a b','name':'X','kind':'state'}", HV_ESCHEMA,
         "id: must be an id", NULL);
  refuse(geo, HV_PARTY, "{'id':'x','name':3,'kind':'state'}", HV_ESCHEMA,
         "name: must be a string", NULL);
  refuse(geo, HV_PARTY, "{'id':'x','name':'X','kind':'state','aliases':'A'}",
         HV_ESCHEMA, "aliases: must be an array", NULL);
  refuse(geo, HV_PARTY,
         "{'id':'x','name':'X','kind':'state','aliases':['A','a']}", HV_ESCHEMA,
         "aliases[1]", "listed twice", NULL);
  refuse(geo, HV_PARTY, "{'id':'x','name':'X','kind':'state','aliases':['']}",
         HV_ESCHEMA, "aliases[0]", "empty", NULL);
  refuse(geo, HV_PARTY, "{'id':'x','name':'X','kind':'state','sponsor':'x'}",
         HV_ECYCLE, "sponsor", NULL);
  refuse(geo, HV_PARTY, "{'id':'x','name':'X','kind':'state','sponsor':'a b'}",
         HV_ESCHEMA, "sponsor", NULL);
  refuse(geo, HV_PARTY, "{'id':'x','name':'X','kind':'state','version':-1}",
         HV_ESCHEMA, "version", NULL);
  struct hv_object *o = make(
      geo, HV_PARTY, "{'id':'x','name':'X','kind':'state','sponsor':null}");
  assert_null(o->u.party.sponsor);
  assert_null(o->u.party.aliases[0]);
  assert_int_equal(o->version, 0);
  hv__object_free(geo, o);
  refuse(geo, HV_AGREEMENT,
         "{'id':'a','name':'A','kind':'ceasefire','valid_from':'2016-02-30',"
         "'scope':'nationwide','covered':['x'],'terms':['siege']}",
         HV_ESCHEMA, "valid_from", "RFC 3339", NULL);
  refuse(geo, HV_AGREEMENT,
         "{'id':'a','name':'A','kind':'ceasefire','valid_from':'2016-02-01',"
         "'valid_to':'2016-01-01','scope':'nationwide','covered':['x'],"
         "'terms':['siege']}",
         HV_ESCHEMA, "valid_to", "after valid_from", NULL);
  refuse(geo, HV_AGREEMENT,
         "{'id':'a','name':'A','kind':'ceasefire','valid_from':'2016-02-01',"
         "'valid_to':'2016-02-01','scope':'nationwide','covered':['x'],"
         "'terms':['siege']}",
         HV_ESCHEMA, "valid_to", NULL);
  refuse(geo, HV_AGREEMENT,
         "{'id':'a','name':'A','kind':'ceasefire','valid_from':'2016-02-01',"
         "'scope':'regional','covered':['x'],'terms':['siege']}",
         HV_ESCHEMA, "scope", "nationwide", NULL);
  refuse(geo, HV_AGREEMENT,
         "{'id':'a','name':'A','kind':'ceasefire','valid_from':'2016-02-01',"
         "'scope':[],'covered':['x'],'terms':['siege']}",
         HV_ESCHEMA, "scope", NULL);
  refuse(geo, HV_AGREEMENT,
         "{'id':'a','name':'A','kind':'ceasefire','valid_from':'2016-02-01',"
         "'scope':'nationwide','covered':['x'],'terms':[]}",
         HV_ESCHEMA, "terms", NULL);
  refuse(geo, HV_AGREEMENT,
         "{'id':'a','name':'A','kind':'ceasefire','valid_from':'2016-02-01',"
         "'scope':'nationwide','covered':['x','x'],'terms':['siege']}",
         HV_ESCHEMA, "covered[1]", "twice", NULL);
  struct hv_object *a =
      make(geo, HV_AGREEMENT,
           "{'id':'a','name':'A','kind':'ceasefire','valid_from':'2016-02-01',"
           "'scope':['z1','z2'],'covered':['x'],'terms':['siege']}");
  assert_int_equal(a->u.agreement.nationwide, 0);
  assert_string_equal(a->u.agreement.scope[1], "z2");
  assert_null(a->u.agreement.scope[2]);
  assert_null(a->u.agreement.excluded[0]);
  hv__object_free(geo, a);
  refuse(geo, HV_ZONE,
         "{'id':'z','geometry':" SQUARE ",'name':'Z','kind':'safe',"
         "'valid_from':'2017-01-01','phase':'declared','alt_min_m':'low'}",
         HV_ESCHEMA, "alt_min_m", NULL);
  refuse(geo, HV_ZONE,
         "{'id':'z','geometry':" SQUARE ",'name':'Z','kind':'safe',"
         "'valid_from':'2017-01-01','phase':'declared','alt_min_m':3000,"
         "'alt_max_m':3000}",
         HV_ESCHEMA, "alt_max_m", NULL);
  refuse(geo, HV_ZONE,
         "{'id':'z','geometry':" SQUARE ",'name':'Z','kind':'safe',"
         "'valid_from':'2017-01-01','phase':'declared','capacity':-1}",
         HV_ESCHEMA, "capacity", NULL);
  refuse(geo, HV_ZONE,
         "{'id':'z','geometry':" SQUARE ",'name':'Z','kind':'safe',"
         "'valid_from':'2017-01-01','phase':'declared','population':1.5}",
         HV_ESCHEMA, "population", NULL);
  refuse(geo, HV_ZONE,
         "{'id':'z','geometry':{'type':'Point','coordinates':[36,35]},"
         "'name':'Z','kind':'safe','valid_from':'2017-01-01',"
         "'phase':'declared'}",
         HV_ESCHEMA, "geometry", "Polygon or MultiPolygon", NULL);
  refuse(geo, HV_ZONE,
         "{'id':'z','geometry':{'type':'Polygon','coordinates':[[[36,35],"
         "[37,36],[37,35],[36,36],[36,35]]]},'name':'Z','kind':'safe',"
         "'valid_from':'2017-01-01','phase':'declared'}",
         HV_EGEOMETRY, "geometry", "Self-intersection", NULL);
  refuse(geo, HV_SITE,
         "{'id':'s','geometry':" SQUARE ",'name':'S','category':'school',"
         "'radius_m':5,'notified_by':'un'}",
         HV_ESCHEMA, "geometry", "Point", NULL);
  refuse(geo, HV_SITE,
         "{'id':'s','geometry':{'type':'Point','coordinates':[36,35]},"
         "'name':'S','category':'school','radius_m':0,'notified_by':'un'}",
         HV_ESCHEMA, "radius_m", NULL);
  refuse(geo, HV_SITE,
         "{'id':'s','geometry':{'type':'Point','coordinates':[36,35]},"
         "'name':'S','category':'school','radius_m':50001,'notified_by':'un'}",
         HV_ESCHEMA, "radius_m", NULL);
  refuse(geo, HV_CORRIDOR,
         "{'id':'c','geometry':{'type':'LineString','coordinates':[[36,35],"
         "[37,35]]},'name':'C','half_width_m':0,'status':'open'}",
         HV_ESCHEMA, "half_width_m", NULL);
  refuse(geo, HV_CORRIDOR,
         "{'id':'c','geometry':" SQUARE ",'name':'C','half_width_m':10,"
         "'status':'open'}",
         HV_ESCHEMA, "geometry", "LineString", NULL);
  refuse(geo, HV_CORRIDOR,
         "{'id':'c','geometry':{'type':'LineString','coordinates':[[36,35],"
         "[37,35]]},'name':'C','half_width_m':10,'status':'open','windows':"
         "[{'from':'2017-01-02','to':'2017-01-01'}]}",
         HV_ESCHEMA, "windows[0]", "after", NULL);
  refuse(geo, HV_CORRIDOR,
         "{'id':'c','geometry':{'type':'LineString','coordinates':[[36,35],"
         "[37,35]]},'name':'C','half_width_m':10,'status':'open','windows':"
         "[{'from':'2017-01-01','to':'soon'}]}",
         HV_ESCHEMA, "windows[0].to", NULL);
  refuse(geo, HV_DELINEATION,
         "{'id':'d','geometry':" SQUARE
         ",'party':'*','valid_from':'2016-01-01'}",
         HV_ESCHEMA, "party", NULL);
  refuse(geo, HV_AREA, "{'id':'a','name':'A'}", HV_ESCHEMA, "geometry",
         "missing", NULL);
  refuse(geo, HV_AREA, "{'id':'a','name':'A','geometry':" SQUARE ",'level':1}",
         HV_ESCHEMA, "level", NULL);
  refuse_doc(geo, HV_PARTY, json_array(), HV_ESCHEMA, "JSON object", NULL);
}

/* Each value of an enum is accepted; anything else is refused with the
 * vocabulary in the message. */
static void check_vocabulary(struct hv_geo *geo, enum hv_kind kind,
                             const char *member, const char *const *values) {
  for (const char *const *v = values; *v; v++) {
    json_t *doc = tu_js(VALID[kind]);
    json_object_set_new(doc, member, json_string(*v));
    if (strcmp(member, "phase") == 0)
      json_object_del(doc, "phase_history");
    struct hv_object *o = make_doc(geo, kind, doc);
    hv__object_free(geo, o);
  }
  if (strcmp(member, "phase") == 0)
    return; /* test_unknown_phase_refused: the history must agree */
  static const char *const bad[] = {"", "Safe", "unknown", NULL};
  for (const char *const *b = bad; *b; b++) {
    json_t *doc = tu_js(VALID[kind]);
    json_object_set_new(doc, member, json_string(*b));
    char want[64];
    snprintf(want, sizeof want, "%s: \"%s\" is not one of", member, *b);
    refuse_doc(geo, kind, doc, HV_ESCHEMA, want, values[0], NULL);
  }
  json_t *doc = tu_js(VALID[kind]);
  json_object_set_new(doc, member, json_integer(1));
  refuse_doc(geo, kind, doc, HV_ESCHEMA, member, values[0], NULL);
}

static void test_vocabularies(void **state) {
  struct hv_geo *geo = *state;
  check_vocabulary(geo, HV_PARTY, "kind",
                   (const char *const[]){"state", "armed_group", "agency",
                                         "monitor", "designated", NULL});
  check_vocabulary(geo, HV_AGREEMENT, "kind",
                   (const char *const[]){"cessation_of_hostilities",
                                         "de_escalation", "no_fly",
                                         "humanitarian_pause", "ceasefire",
                                         "deconfliction", NULL});
  check_vocabulary(geo, HV_ZONE, "kind",
                   (const char *const[]){"safe", "de_escalation", "no_fly",
                                         "buffer", "security", "exclusion",
                                         NULL});
  check_vocabulary(geo, HV_ZONE, "phase",
                   (const char *const[]){"declared", "established", "open",
                                         "suspended", "dissolved", NULL});
  check_vocabulary(geo, HV_CORRIDOR, "status",
                   (const char *const[]){"open", "closed", "blocked", NULL});
  check_vocabulary(geo, HV_SITE, "category",
                   (const char *const[]){
                       "hospital", "school", "shelter", "camp", "aid_warehouse",
                       "water", "power", "religious", "cultural", NULL});
  /* Agreement terms: every action kind, one at a time; a wrong one named. */
  static const char *const terms[] = {
      "air_strike",     "shelling", "ground_offensive", "military_flight",
      "armed_presence", "siege",    "chemical_weapons", NULL};
  for (const char *const *t = terms; *t; t++) {
    json_t *doc = tu_js(VALID[HV_AGREEMENT]);
    json_object_set_new(doc, "terms", json_pack("[s]", *t));
    hv__object_free(geo, make_doc(geo, HV_AGREEMENT, doc));
  }
  json_t *doc = tu_js(VALID[HV_AGREEMENT]);
  json_object_set_new(doc, "terms", json_pack("[ss]", "shelling", "bombing"));
  refuse_doc(geo, HV_AGREEMENT, doc, HV_ESCHEMA, "terms[1]", "bombing",
             "air_strike", NULL);
  /* Rule asset classes. */
  static const char *const classes[] = {"fixed_wing",   "rotary",
                                        "uav",          "ground_armed",
                                        "ground_civil", "humanitarian"};
  for (size_t i = 0; i < 6; i++) {
    enum hv_asset_class c;
    assert_int_equal(hv_asset_class_parse(classes[i], &c), HV_OK);
    assert_int_equal(c, (enum hv_asset_class)i);
    assert_string_equal(hv_asset_class_name(c), classes[i]);
  }
  enum hv_asset_class c;
  assert_int_equal(hv_asset_class_parse("tank", &c), HV_EINVAL);
  refuse(geo, HV_ZONE,
         "{'id':'z','geometry':" SQUARE ",'name':'Z','kind':'safe',"
         "'valid_from':'2017-01-01','phase':'declared','rules':[{'parties':"
         "['*'],'asset_classes':['uav','tank'],'inside':true,'overfly':true}]}",
         HV_ESCHEMA, "rules[0].asset_classes[1]", NULL);
  refuse(geo, HV_ZONE,
         "{'id':'z','geometry':" SQUARE ",'name':'Z','kind':'safe',"
         "'valid_from':'2017-01-01','phase':'declared','rules':[{'parties':"
         "['*'],'asset_classes':['uav'],'inside':true}]}",
         HV_ESCHEMA, "rules[0]", "overfly", NULL);
  refuse(geo, HV_ZONE,
         "{'id':'z','geometry':" SQUARE ",'name':'Z','kind':'safe',"
         "'valid_from':'2017-01-01','phase':'declared','rules':[{'parties':"
         "[],'asset_classes':['uav'],'inside':true,'overfly':true}]}",
         HV_ESCHEMA, "rules[0].parties", NULL);
  refuse(geo, HV_ZONE,
         "{'id':'z','geometry':" SQUARE ",'name':'Z','kind':'safe',"
         "'valid_from':'2017-01-01','phase':'declared','rules':[{'parties':"
         "['ru','all of them'],'asset_classes':['uav'],'inside':true,"
         "'overfly':true}]}",
         HV_ESCHEMA, "rules[0].parties[1]", NULL);
}

static void test_names_round_trip(void **state) {
  (void)state;
  static const char *const kinds[] = {"party",    "agreement", "zone",
                                      "corridor", "site",      "delineation",
                                      "area",     "movement",  "incident", "token"};
  for (int k = 0; k < HV_KIND_COUNT; k++) {
    enum hv_kind out;
    assert_string_equal(hv_kind_name((enum hv_kind)k), kinds[k]);
    assert_int_equal(hv_kind_parse(kinds[k], &out), HV_OK);
    assert_int_equal(out, k);
  }
  enum hv_kind ko;
  assert_int_equal(hv_kind_parse("Zone", &ko), HV_EINVAL);
  assert_int_equal(hv_kind_parse(NULL, &ko), HV_EINVAL);
  assert_string_equal(hv_kind_name(HV_KIND_COUNT), "?");
  static const char *const phases[] = {"declared", "established", "open",
                                       "suspended", "dissolved"};
  for (int p = 0; p < HV_PHASE_COUNT; p++) {
    enum hv_phase out;
    assert_string_equal(hv_phase_name((enum hv_phase)p), phases[p]);
    assert_int_equal(hv_phase_parse(phases[p], &out), HV_OK);
    assert_int_equal(out, p);
  }
  enum hv_phase po;
  assert_int_equal(hv_phase_parse("closed", &po), HV_EINVAL);
  /* Ids. */
  char id64[65], id65[66];
  memset(id64, 'a', 64);
  id64[64] = '\0';
  memset(id65, 'a', 65);
  id65[65] = '\0';
  assert_true(hv__id_valid("SY07"));
  assert_true(hv__id_valid("a-b_c.d:e"));
  assert_true(hv__id_valid(id64));
  assert_false(hv__id_valid(id65));
  assert_false(hv__id_valid(""));
  assert_false(hv__id_valid(NULL));
  assert_false(hv__id_valid("a b"));
  assert_false(hv__id_valid("a/b"));
  assert_false(hv__id_valid("é"));
  /* Id lists. */
  const char *ids[] = {"ru", "tr", NULL};
  assert_true(hv_ids_contain(ids, "tr"));
  assert_false(hv_ids_contain(ids, "t"));
  assert_false(hv_ids_contain(NULL, "tr"));
  /* Canonical text: sorted keys, compact. */
  json_t *doc = tu_js("{'b':1,'a':[1,2],'c':{'z':1,'y':2}}");
  char *canon = hv__canon(doc);
  assert_string_equal(canon, "{\"a\":[1,2],\"b\":1,\"c\":{\"y\":2,\"z\":1}}");
  free(canon);
  json_decref(doc);
}

/* ---- zones: phase history ------------------------------------------------ */

#define ZONE_HEAD                                                              \
  "{'id':'z','geometry':" SQUARE ",'name':'Z','kind':'safe',"                  \
  "'valid_from':'2017-01-01',"

static void test_phase_history_allowed(void **state) {
  struct hv_geo *geo = *state;
  /* Every allowed kind of step, in one history. */
  struct hv_object *z =
      make(geo, HV_ZONE,
           ZONE_HEAD "'phase':'dissolved','phase_history':["
                     "{'phase':'declared','at':'2017-01-01','by':'ru'},"
                     "{'phase':'established','at':'2017-02-01','by':'tr'},"
                     "{'phase':'suspended','at':'2017-03-01','by':'tr'},"
                     "{'phase':'established','at':'2017-04-01','by':'tr'},"
                     "{'phase':'open','at':'2017-05-01','by':'coordinator'},"
                     "{'phase':'suspended','at':'2017-06-01','by':'ru',"
                     "'reason':'shelling'},"
                     "{'phase':'open','at':'2017-06-01','by':'ru'},"
                     "{'phase':'dissolved','at':'2018-01-01T12:00:00+02:00',"
                     "'by':'ru'}]}");
  assert_int_equal(z->u.zone.n_history, 8);
  assert_int_equal(z->u.zone.phase, HV_PHASE_DISSOLVED);
  assert_int_equal(z->u.zone.history[5].phase, HV_PHASE_SUSPENDED);
  assert_string_equal(z->u.zone.history[5].reason, "shelling");
  assert_null(z->u.zone.history[4].reason);
  assert_string_equal(z->u.zone.history[4].by, "coordinator");
  assert_true(z->u.zone.history[7].at_ms == T("2018-01-01T10:00:00Z"));
  /* Phase at a time: the last change at or before it. */
  assert_int_equal(hv_zone_phase_at(z, T("2016-06-01")), HV_PHASE_DECLARED);
  assert_int_equal(hv_zone_phase_at(z, T("2017-01-01")), HV_PHASE_DECLARED);
  assert_int_equal(hv_zone_phase_at(z, T("2017-02-01") - 1), HV_PHASE_DECLARED);
  assert_int_equal(hv_zone_phase_at(z, T("2017-02-01")), HV_PHASE_ESTABLISHED);
  assert_int_equal(hv_zone_phase_at(z, T("2017-03-15")), HV_PHASE_SUSPENDED);
  assert_int_equal(hv_zone_phase_at(z, T("2017-05-31")), HV_PHASE_OPEN);
  /* Two changes at the same instant: the later one holds. */
  assert_int_equal(hv_zone_phase_at(z, T("2017-06-01")), HV_PHASE_OPEN);
  assert_int_equal(hv_zone_phase_at(z, T("2018-01-01T09:59:59Z")),
                   HV_PHASE_OPEN);
  assert_int_equal(hv_zone_phase_at(z, T("2018-01-01T10:00:00Z")),
                   HV_PHASE_DISSOLVED);
  assert_int_equal(hv_zone_phase_at(z, T("2030-01-01")), HV_PHASE_DISSOLVED);
  hv__object_free(geo, z);
}

static void test_phase_history_refused(void **state) {
  struct hv_geo *geo = *state;
  refuse(geo, HV_ZONE,
         ZONE_HEAD "'phase':'open','phase_history':["
                   "{'phase':'declared','at':'2017-01-01','by':'ru'},"
                   "{'phase':'open','at':'2017-02-01','by':'ru'}]}",
         HV_EPHASE, "phase_history[1]", "declared -> open", NULL);
  refuse(geo, HV_ZONE,
         ZONE_HEAD "'phase':'open','phase_history':["
                   "{'phase':'dissolved','at':'2017-01-01','by':'ru'},"
                   "{'phase':'open','at':'2017-02-01','by':'ru'}]}",
         HV_EPHASE, "phase_history[1]", "dissolved -> open", NULL);
  refuse(geo, HV_ZONE,
         ZONE_HEAD "'phase':'established','phase_history':["
                   "{'phase':'declared','at':'2017-01-01','by':'ru'},"
                   "{'phase':'established','at':'2017-02-01','by':'ru'},"
                   "{'phase':'established','at':'2017-03-01','by':'ru'}]}",
         HV_EPHASE, "phase_history[2]", NULL);
  refuse(geo, HV_ZONE,
         ZONE_HEAD "'phase':'declared','phase_history':["
                   "{'phase':'open','at':'2017-01-01','by':'ru'},"
                   "{'phase':'suspended','at':'2017-02-01','by':'ru'},"
                   "{'phase':'declared','at':'2017-03-01','by':'ru'}]}",
         HV_EPHASE, "phase_history[2]", "suspended -> declared", NULL);
  /* Out of order times. */
  refuse(geo, HV_ZONE,
         ZONE_HEAD "'phase':'open','phase_history':["
                   "{'phase':'declared','at':'2017-01-01','by':'ru'},"
                   "{'phase':'established','at':'2017-03-01','by':'ru'},"
                   "{'phase':'open','at':'2017-02-28T23:59:59Z','by':'ru'}]}",
         HV_ESCHEMA, "phase_history[2].at", "earlier", NULL);
  /* The current phase must be the last entry's. */
  refuse(geo, HV_ZONE,
         ZONE_HEAD "'phase':'open','phase_history':["
                   "{'phase':'declared','at':'2017-01-01','by':'ru'},"
                   "{'phase':'established','at':'2017-02-01','by':'ru'}]}",
         HV_ESCHEMA, "phase", "differs", "established", NULL);
  refuse(geo, HV_ZONE, ZONE_HEAD "'phase':'open','phase_history':[]}",
         HV_ESCHEMA, "phase_history", "non-empty", NULL);
  refuse(geo, HV_ZONE,
         ZONE_HEAD "'phase':'open','phase_history':{'phase':'open'}}",
         HV_ESCHEMA, "phase_history", NULL);
  refuse(geo, HV_ZONE,
         ZONE_HEAD "'phase':'open','phase_history':["
                   "{'phase':'open','when':'2017-01-01','by':'ru'}]}",
         HV_ESCHEMA, "phase_history[0].when", "unknown member", NULL);
  refuse(geo, HV_ZONE,
         ZONE_HEAD "'phase':'open','phase_history':["
                   "{'phase':'open','at':'yesterday','by':'ru'}]}",
         HV_ESCHEMA, "phase_history[0].at", NULL);
  refuse(geo, HV_ZONE,
         ZONE_HEAD "'phase':'open','phase_history':["
                   "{'phase':'open','at':'2017-01-01'}]}",
         HV_ESCHEMA, "phase_history[0].by", NULL);
  refuse(geo, HV_ZONE,
         ZONE_HEAD "'phase':'open','phase_history':["
                   "{'phase':'open','at':'2017-01-01','by':'ru','reason':7}]}",
         HV_ESCHEMA, "phase_history[0].reason", NULL);
}

/* An unknown phase, in the zone or in its history, is refused with the
 * vocabulary in the message (and no read past the list of phases). */
static void test_unknown_phase_refused(void **state) {
  struct hv_geo *geo = *state;
  refuse(geo, HV_ZONE, ZONE_HEAD "'phase':'opened'}", HV_ESCHEMA,
         "phase: \"opened\" is not one of", "declared", "dissolved", NULL);
  refuse(geo, HV_ZONE, ZONE_HEAD "'phase':'party'}", HV_ESCHEMA, "phase", NULL);
  refuse(geo, HV_ZONE, ZONE_HEAD "'phase':3}", HV_ESCHEMA, "phase", NULL);
  refuse(geo, HV_ZONE,
         ZONE_HEAD "'phase':'open','phase_history':["
                   "{'phase':'opened','at':'2017-01-01','by':'ru'}]}",
         HV_ESCHEMA, "phase_history[0].phase", "\"opened\" is not one of",
         NULL);
}

static void test_phase_allowed_table(void **state) {
  (void)state;
  /* Rows: from; columns: to (declared established open suspended
   * dissolved), as docs/formats.md states them. */
  static const int allowed[HV_PHASE_COUNT][HV_PHASE_COUNT] = {
      /* declared    */ {0, 1, 0, 0, 1},
      /* established */ {0, 0, 1, 1, 1},
      /* open        */ {0, 0, 0, 1, 1},
      /* suspended   */ {0, 1, 1, 0, 1},
      /* dissolved   */ {0, 0, 0, 0, 0},
  };
  for (int f = 0; f < HV_PHASE_COUNT; f++)
    for (int t = 0; t < HV_PHASE_COUNT; t++)
      if (hv_phase_allowed((enum hv_phase)f, (enum hv_phase)t) != allowed[f][t])
        fail_msg("hv_phase_allowed(%s, %s) = %d, expected %d",
                 hv_phase_name((enum hv_phase)f),
                 hv_phase_name((enum hv_phase)t),
                 hv_phase_allowed((enum hv_phase)f, (enum hv_phase)t),
                 allowed[f][t]);
}

/* ---- zones: in force, permits -------------------------------------------- */

static void test_zone_in_force(void **state) {
  struct hv_geo *geo = *state;
  struct hv_object *z = make(
      geo, HV_ZONE,
      "{'id':'z','geometry':" SQUARE ",'name':'Z','kind':'safe',"
      "'valid_from':'2017-01-01','valid_to':'2019-01-01','phase':'dissolved',"
      "'phase_history':[{'phase':'declared','at':'2017-01-01','by':'ru'},"
      "{'phase':'dissolved','at':'2018-06-01','by':'ru'}]}");
  assert_true(z->from_ms == T("2017-01-01"));
  assert_true(z->to_ms == T("2019-01-01"));
  assert_false(
      hv_zone_in_force(z, T("2017-01-01") - 1)); /* before valid_from */
  assert_true(hv_zone_in_force(z, T("2017-01-01")));
  assert_true(hv_zone_in_force(z, T("2018-06-01") - 1));
  assert_false(hv_zone_in_force(z, T("2018-06-01"))); /* dissolved */
  assert_false(hv_zone_in_force(z, T("2018-12-31")));
  hv__object_free(geo, z);
  /* Without a dissolution: valid_to is exclusive. */
  z = make(geo, HV_ZONE,
           "{'id':'z','geometry':" SQUARE ",'name':'Z','kind':'safe',"
           "'valid_from':'2017-01-01','valid_to':'2019-01-01',"
           "'phase':'suspended','phase_history':[{'phase':'open','at':"
           "'2017-01-01','by':'ru'},{'phase':'suspended','at':'2017-06-01',"
           "'by':'ru'}]}");
  assert_true(hv_zone_in_force(z, T("2017-06-02"))); /* suspended is in force */
  assert_true(hv_zone_in_force(z, T("2019-01-01") - 1));
  assert_false(hv_zone_in_force(z, T("2019-01-01")));
  hv__object_free(geo, z);
  /* Open-ended, no history: current phase for all time. */
  z = make(geo, HV_ZONE, ZONE_HEAD "'phase':'declared'}");
  assert_true(hv_zone_in_force(z, T("2100-01-01")));
  assert_int_equal(hv_zone_phase_at(z, T("2100-01-01")), HV_PHASE_DECLARED);
  hv__object_free(geo, z);
  z = make(geo, HV_ZONE, ZONE_HEAD "'phase':'dissolved'}");
  assert_false(hv_zone_in_force(z, T("2017-06-01")));
  hv__object_free(geo, z);
}

static void test_zone_permits(void **state) {
  struct hv_geo *geo = *state;
  struct hv_object *z =
      make(geo, HV_ZONE,
           ZONE_HEAD "'phase':'open','rules':["
                     "{'parties':['ru'],'asset_classes':['fixed_wing'],"
                     "'inside':false,'overfly':true},"
                     "{'parties':['*'],'asset_classes':['fixed_wing','rotary'],"
                     "'inside':false,'overfly':false},"
                     "{'parties':['un-ocha','icrc'],'asset_classes':['*'],"
                     "'inside':true,'overfly':true},"
                     "{'parties':['*'],'asset_classes':['ground_armed'],"
                     "'inside':false,'overfly':true}]}");
  assert_int_equal(z->u.zone.n_rules, 4);
  assert_string_equal(z->u.zone.rules[2].parties[1], "icrc");
  assert_null(z->u.zone.rules[2].parties[2]);
  assert_int_equal(z->u.zone.rules[2].classes, (1u << HV_ASSET_COUNT) - 1);
  /* The first matching rule decides. */
  assert_int_equal(hv_zone_permits(z, "ru", HV_ASSET_FIXED_WING, 0), 0);
  assert_int_equal(hv_zone_permits(z, "ru", HV_ASSET_FIXED_WING, 1), 1);
  assert_int_equal(hv_zone_permits(z, "tr", HV_ASSET_FIXED_WING, 1), 0);
  assert_int_equal(hv_zone_permits(z, "ru", HV_ASSET_ROTARY, 1), 0);
  /* un-ocha's rotary meets the "*" rule first; its other classes rule 2. */
  assert_int_equal(hv_zone_permits(z, "un-ocha", HV_ASSET_ROTARY, 0), 0);
  assert_int_equal(hv_zone_permits(z, "un-ocha", HV_ASSET_HUMANITARIAN, 0), 1);
  assert_int_equal(hv_zone_permits(z, "icrc", HV_ASSET_GROUND_ARMED, 0), 1);
  assert_int_equal(hv_zone_permits(z, "tr", HV_ASSET_GROUND_ARMED, 0), 0);
  assert_int_equal(hv_zone_permits(z, "tr", HV_ASSET_GROUND_ARMED, 1), 1);
  /* No matching rule: permitted. */
  assert_int_equal(hv_zone_permits(z, "tr", HV_ASSET_UAV, 0), 1);
  assert_int_equal(hv_zone_permits(z, "tr", HV_ASSET_GROUND_CIVIL, 1), 1);
  assert_int_equal(hv_zone_permits(z, "ru", HV_ASSET_HUMANITARIAN, 0), 1);
  hv__object_free(geo, z);
  /* No rules at all: everything permitted. */
  z = make(geo, HV_ZONE, ZONE_HEAD "'phase':'open'}");
  for (int c = 0; c < HV_ASSET_COUNT; c++) {
    assert_int_equal(hv_zone_permits(z, "ru", (enum hv_asset_class)c, 0), 1);
    assert_int_equal(hv_zone_permits(z, "ru", (enum hv_asset_class)c, 1), 1);
  }
  hv__object_free(geo, z);
  /* A catch-all first rule forbids everything. */
  z = make(geo, HV_ZONE,
           ZONE_HEAD "'phase':'open','rules':[{'parties':['*'],"
                     "'asset_classes':['*'],'inside':false,'overfly':false},"
                     "{'parties':['ru'],'asset_classes':['uav'],"
                     "'inside':true,'overfly':true}]}");
  assert_int_equal(hv_zone_permits(z, "ru", HV_ASSET_UAV, 0), 0);
  assert_int_equal(hv_zone_permits(z, "un", HV_ASSET_HUMANITARIAN, 1), 0);
  hv__object_free(geo, z);
}

/* ---- agreements, corridors ----------------------------------------------- */

static void test_agreement_excluded_and_covered(void **state) {
  struct hv_geo *geo = *state;
  refuse(geo, HV_AGREEMENT,
         "{'id':'a','name':'A','kind':'ceasefire','valid_from':'2016-02-01',"
         "'scope':'nationwide','covered':['syr-gov','is'],"
         "'excluded':['jfs','is'],'terms':['siege']}",
         HV_ESCHEMA, "excluded[1]", "\"is\"", "also covered", NULL);
  struct hv_object *a =
      make(geo, HV_AGREEMENT,
           "{'id':'a','name':'A','kind':'ceasefire','valid_from':'2016-02-01',"
           "'scope':'nationwide','covered':['syr-gov'],'excluded':['jfs','is'],"
           "'terms':['siege']}");
  assert_string_equal(a->u.agreement.excluded[1], "is");
  hv__object_free(geo, a);
}

/* An agreement's separation minima: each of the three optional, at least
 * one, in the ranges of struct hv_sep_params, nothing else inside. */
#define AG(sep, terms)                                                         \
  "{'id':'a','name':'A','kind':'deconfliction','valid_from':'2015-10-20',"     \
  "'scope':'nationwide','covered':['us','ru'],'terms':" terms sep "}"
static void test_agreement_separation(void **state) {
  struct hv_geo *geo = *state;
  /* Absent: no minima. */
  struct hv_object *a = make(geo, HV_AGREEMENT, AG("", "['siege']"));
  const struct hv_agreement_sep *sp = &a->u.agreement.separation;
  assert_false(sp->has_horizontal || sp->has_vertical || sp->has_lookahead);
  hv__object_free(geo, a);
  /* One field alone; and terms may then be empty. */
  a = make(geo, HV_AGREEMENT, AG(",'separation':{'lookahead_s':60}", "[]"));
  sp = &a->u.agreement.separation;
  assert_false(sp->has_horizontal || sp->has_vertical);
  assert_true(sp->has_lookahead && sp->lookahead_s == 60);
  assert_null(a->u.agreement.terms[0]);
  hv__object_free(geo, a);
  /* The bounds themselves are accepted. */
  a = make(geo, HV_AGREEMENT,
           AG(",'separation':{'horizontal_m':1000000,'vertical_m':100000,"
              "'lookahead_s':86400}",
              "['siege']"));
  sp = &a->u.agreement.separation;
  assert_true(sp->horizontal_m == 1e6 && sp->vertical_m == 1e5 &&
              sp->lookahead_s == 86400);
  hv__object_free(geo, a);
  a = make(geo, HV_AGREEMENT,
           AG(",'separation':{'horizontal_m':0.5,'vertical_m':1e-3}", "[]"));
  assert_true(a->u.agreement.separation.horizontal_m == 0.5);
  hv__object_free(geo, a);

  /* Refused, naming the field. */
  refuse(geo, HV_AGREEMENT, AG("", "[]"), HV_ESCHEMA, "terms",
         "empty only when separation is given", NULL);
  refuse(geo, HV_AGREEMENT, AG(",'separation':18520", "[]"), HV_ESCHEMA,
         "separation: must be an object", NULL);
  refuse(geo, HV_AGREEMENT, AG(",'separation':null", "['siege']"), HV_ESCHEMA,
         "separation: must be an object", NULL);
  refuse(geo, HV_AGREEMENT, AG(",'separation':{}", "['siege']"), HV_ESCHEMA,
         "separation: give at least one of", NULL);
  refuse(geo, HV_AGREEMENT,
         AG(",'separation':{'horizontal_m':9260,'vertical':300}", "[]"),
         HV_ESCHEMA, "separation.vertical: unknown member", NULL);
  refuse(geo, HV_AGREEMENT, AG(",'separation':{'horizontal_m':0}", "[]"),
         HV_ESCHEMA,
         "separation.horizontal_m: must be a number > 0 and <= 1000000", NULL);
  refuse(geo, HV_AGREEMENT, AG(",'separation':{'horizontal_m':-5}", "[]"),
         HV_ESCHEMA, "separation.horizontal_m", NULL);
  refuse(geo, HV_AGREEMENT,
         AG(",'separation':{'horizontal_m':1000000.5}", "[]"), HV_ESCHEMA,
         "separation.horizontal_m", NULL);
  refuse(geo, HV_AGREEMENT, AG(",'separation':{'horizontal_m':'10 NM'}", "[]"),
         HV_ESCHEMA, "separation.horizontal_m: must be a number", NULL);
  refuse(geo, HV_AGREEMENT, AG(",'separation':{'vertical_m':100001}", "[]"),
         HV_ESCHEMA,
         "separation.vertical_m: must be a number > 0 and <= 100000", NULL);
  refuse(geo, HV_AGREEMENT, AG(",'separation':{'vertical_m':true}", "[]"),
         HV_ESCHEMA, "separation.vertical_m", NULL);
  refuse(geo, HV_AGREEMENT, AG(",'separation':{'lookahead_s':86401}", "[]"),
         HV_ESCHEMA,
         "separation.lookahead_s: must be a number > 0 and <= 86400", NULL);
  refuse(geo, HV_AGREEMENT,
         AG(",'separation':{'lookahead_s':0,'horizontal_m':9260}", "[]"),
         HV_ESCHEMA, "separation.lookahead_s", NULL);
}
#undef AG

static void test_corridor_area(void **state) {
  struct hv_geo *geo = *state;
  struct hv_object *c = make(geo, HV_CORRIDOR, VALID[HV_CORRIDOR]);
  double len = hv_geo_distance_m(36.0, 35.0, 36.2, 35.0);
  double hw = 500;
  double want = len * 2 * hw + M_PI * hw * hw;
  assert_true(c->u.corridor.half_width_m == hw);
  assert_non_null(c->u.corridor.area);
  if (!(fabs(c->u.corridor.area_m2 - want) < 0.01 * want))
    fail_msg("corridor area %.0f m2, expected %.0f", c->u.corridor.area_m2,
             want);
  /* The buffered area covers the line's ends and a point 400 m off it,
   * not one 600 m off. */
  GEOSContextHandle_t gh = hv_geo_geos(geo);
  const GEOSPreparedGeometry *pg = GEOSPrepare_r(gh, c->u.corridor.area);
  double dlat400 = 400 / 110950.0, dlat600 = 600 / 110950.0;
  assert_int_equal(hv_geo_covers_point(geo, pg, 36.1, 35.0 + dlat400), 1);
  assert_int_equal(hv_geo_covers_point(geo, pg, 36.1, 35.0 - dlat600), 0);
  assert_int_equal(hv_geo_covers_point(geo, pg, 36.2, 35.0), 1);
  GEOSPreparedGeom_destroy_r(gh, pg);
  assert_int_equal(c->u.corridor.n_windows, 1);
  assert_true(c->u.corridor.windows[0].from_ms == T("2017-07-01T06:00:00Z"));
  assert_true(c->u.corridor.windows[0].to_ms == T("2017-07-01T18:00:00Z"));
  assert_string_equal(c->u.corridor.connects[0], "idlib");
  assert_string_equal(c->u.corridor.status, "open");
  hv__object_free(geo, c);
}

/* hv__object_each_ref names every reference with its field. */
struct refs {
  char text[1024];
  size_t used;
};

static int collect_ref(const char *field, enum hv_kind kind, const char *id,
                       void *ud) {
  struct refs *r = ud;
  r->used += (size_t)snprintf(r->text + r->used, sizeof r->text - r->used,
                              "%s=%s:%s;", field, hv_kind_name(kind), id);
  return 0;
}

static void test_each_ref(void **state) {
  struct hv_geo *geo = *state;
  struct refs r = {{0}, 0};
  struct hv_object *z = make(geo, HV_ZONE, VALID[HV_ZONE]);
  assert_int_equal(hv__object_each_ref(z, collect_ref, &r), 0);
  assert_string_equal(r.text, "guarantors[0]=party:tr;guarantors[1]=party:ru;"
                              "phase_history[0].by=party:ru;"
                              "phase_history[1].by=party:tr;"
                              "phase_history[2].by=party:coordinator;");
  hv__object_free(geo, z);
  memset(&r, 0, sizeof r);
  struct hv_object *a =
      make(geo, HV_AGREEMENT,
           "{'id':'a','name':'A','kind':'ceasefire','valid_from':'2016-02-01',"
           "'scope':['z1'],'covered':['c1'],'excluded':['e1'],"
           "'guarantors':['g1'],'terms':['siege']}");
  assert_int_equal(hv__object_each_ref(a, collect_ref, &r), 0);
  assert_string_equal(r.text, "scope[0]=zone:z1;covered[0]=party:c1;"
                              "excluded[0]=party:e1;guarantors[0]=party:g1;");
  hv__object_free(geo, a);
  memset(&r, 0, sizeof r);
  struct hv_object *s = make(geo, HV_SITE, VALID[HV_SITE]);
  assert_int_equal(hv__object_each_ref(s, collect_ref, &r), 0);
  assert_string_equal(r.text, "notified_by=party:un-ocha;"
                              "recipients[0]=party:ru;recipients[1]=party:tr;");
  hv__object_free(geo, s);
  memset(&r, 0, sizeof r);
  /* A movement: its notifier, its corridor when routed by one, and its
   * recipients ("*" names no party). */
  struct hv_object *m =
      make(geo, HV_MOVEMENT,
           "{'id':'m','name':'M','kind':'evacuation','notified_by':'icrc',"
           "'corridor':'castello','valid_from':'2016-09-12',"
           "'valid_to':'2016-09-13','vehicles':4,"
           "'recipients':['ru','syr-gov']}");
  assert_int_equal(hv__object_each_ref(m, collect_ref, &r), 0);
  assert_string_equal(r.text, "notified_by=party:icrc;corridor=corridor:"
                              "castello;recipients[0]=party:ru;"
                              "recipients[1]=party:syr-gov;");
  hv__object_free(geo, m);
  memset(&r, 0, sizeof r);
  m = make(geo, HV_MOVEMENT, VALID[HV_MOVEMENT]);
  assert_int_equal(hv__object_each_ref(m, collect_ref, &r), 0);
  assert_string_equal(r.text, "notified_by=party:un-ocha;");
  hv__object_free(geo, m);
  memset(&r, 0, sizeof r);
  struct hv_object *zr =
      make(geo, HV_ZONE,
           ZONE_HEAD "'phase':'open','rules':[{'parties':['*','ru'],"
                     "'asset_classes':['uav'],'inside':true,'overfly':true}]}");
  assert_int_equal(hv__object_each_ref(zr, collect_ref, &r), 0);
  assert_string_equal(r.text, "rules[0].parties[1]=party:ru;");
  hv__object_free(geo, zr);
}

int main(void) {
#define T_(f) cmocka_unit_test_setup_teardown(f, tu_geo_setup, tu_geo_teardown)
  const struct CMUnitTest tests[] = {
      T_(test_valid_documents),
      T_(test_required_members),
      T_(test_unknown_member_named),
      T_(test_member_types),
      T_(test_vocabularies),
      T_(test_names_round_trip),
      T_(test_phase_history_allowed),
      T_(test_phase_history_refused),
      T_(test_unknown_phase_refused),
      T_(test_phase_allowed_table),
      T_(test_zone_in_force),
      T_(test_zone_permits),
      T_(test_agreement_excluded_and_covered),
      T_(test_agreement_separation),
      T_(test_corridor_area),
      T_(test_each_ref),
  };
#undef T_
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * pw_bm25: FTS5's bm25 ranking, with each phrase's document frequency supplied by the caller.
 *
 * Why this exists: FTS5's built-in bm25() computes every query phrase's document frequency by
 * walking all the articles that contain the phrase, on every query, even when only a window of
 * the newest matches is ranked. For a phrase in a quarter of a million-article archive
 * ("e-commerce") that walk alone takes 26 to 50 ms. pledgewatch estimates the frequency from the
 * newest articles instead (pledgewatch/store/search.py) and hands it over here; the per-article
 * part of the score is bm25's, term for term.
 *
 * SQL:  pw_bm25(fts_table, weight_0, ..., weight_{C-1}, share_0, ..., share_{P-1})
 *   C weights, one per column of the FTS5 table, as bm25()'s; then one value per phrase of the
 *   MATCH expression, in the order FTS5 numbers them (left to right): the share of the table's
 *   rows that contain the phrase (0..1), or a negative number to count the phrase exactly, as
 *   bm25() does. Returns the score as bm25() does: negative, lower is better.
 *
 * Python's sqlite3 module cannot register an FTS5 ranking function, and many Python builds
 * cannot load SQLite extensions, so this is a Python extension module that registers the
 * function with sqlite3_auto_extension() when imported: every connection opened afterwards in
 * the process has it. That only works where this module and Python's sqlite3 share one SQLite
 * library; pledgewatch/store/fts5rank.py checks that and otherwise search falls back to bm25().
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <string.h>
#include <sqlite3.h>

#define PW_K1 1.2
#define PW_B 0.75

typedef struct PwRankData {
    int nPhrase;
    double avgdl;    /* average tokens per row, all columns */
    double *aIDF;    /* per phrase */
    double *aFreq;   /* per phrase, scratch for the current row */
} PwRankData;

static int pw_count_row(const Fts5ExtensionApi *api, Fts5Context *fts, void *user) {
    (void)api;
    (void)fts;
    (*(sqlite3_int64 *)user)++;
    return SQLITE_OK;
}

/* Computed once per statement (FTS5 keeps it with the cursor): avgdl and one IDF per phrase. */
static int pw_rank_data(const Fts5ExtensionApi *api, Fts5Context *fts, int nCol, int nVal,
                        sqlite3_value **apVal, PwRankData **out) {
    PwRankData *data = (PwRankData *)api->xGetAuxdata(fts, 0);
    if (data) {
        *out = data;
        return SQLITE_OK;
    }
    int nPhrase = api->xPhraseCount(fts);
    if (nVal != nCol + nPhrase) {
        return SQLITE_MISUSE;
    }
    sqlite3_int64 nByte = (sqlite3_int64)sizeof(PwRankData) + (sqlite3_int64)nPhrase * 2 * sizeof(double);
    data = (PwRankData *)sqlite3_malloc64(nByte);
    if (!data) {
        return SQLITE_NOMEM;
    }
    memset(data, 0, nByte);
    data->nPhrase = nPhrase;
    data->aIDF = (double *)&data[1];
    data->aFreq = &data->aIDF[nPhrase];

    sqlite3_int64 nRow = 0, nToken = 0;
    int rc = api->xRowCount(fts, &nRow);
    if (rc == SQLITE_OK) rc = api->xColumnTotalSize(fts, -1, &nToken);
    if (rc == SQLITE_OK) data->avgdl = nRow > 0 ? (double)nToken / (double)nRow : 1.0;
    for (int i = 0; rc == SQLITE_OK && i < nPhrase; i++) {
        double share = sqlite3_value_double(apVal[nCol + i]);
        double hits;
        if (share < 0.0) {
            sqlite3_int64 counted = 0;
            rc = api->xQueryPhrase(fts, i, &counted, pw_count_row);
            hits = (double)counted;
        } else {
            hits = (share > 1.0 ? 1.0 : share) * (double)nRow;
        }
        /* The BM25 IDF; like bm25(), never below 1e-6 for phrases in over half the rows. */
        double idf = log(((double)nRow - hits + 0.5) / (hits + 0.5));
        data->aIDF[i] = idf > 0.0 ? idf : 1e-6;
    }
    if (rc == SQLITE_OK) rc = api->xSetAuxdata(fts, data, sqlite3_free);
    else sqlite3_free(data);
    *out = rc == SQLITE_OK ? data : 0;
    return rc;
}

static void pw_bm25(const Fts5ExtensionApi *api, Fts5Context *fts, sqlite3_context *ctx, int nVal,
                    sqlite3_value **apVal) {
    int nCol = api->xColumnCount(fts);
    PwRankData *data = 0;
    int rc = pw_rank_data(api, fts, nCol, nVal, apVal, &data);
    if (rc == SQLITE_MISUSE) {
        sqlite3_result_error(ctx, "pw_bm25: pass one weight per column, then one share per phrase", -1);
        return;
    }
    int nInst = 0;
    if (rc == SQLITE_OK) {
        memset(data->aFreq, 0, sizeof(double) * data->nPhrase);
        rc = api->xInstCount(fts, &nInst);
    }
    for (int i = 0; rc == SQLITE_OK && i < nInst; i++) {
        int phrase, col, offset;
        rc = api->xInst(fts, i, &phrase, &col, &offset);
        if (rc == SQLITE_OK && col >= 0 && col < nCol) {
            data->aFreq[phrase] += sqlite3_value_double(apVal[col]);
        }
    }
    int length = 0;
    if (rc == SQLITE_OK) rc = api->xColumnSize(fts, -1, &length);
    if (rc != SQLITE_OK) {
        sqlite3_result_error_code(ctx, rc);
        return;
    }
    double norm = PW_K1 * (1.0 - PW_B + PW_B * (double)length / data->avgdl);
    double score = 0.0;
    for (int i = 0; i < data->nPhrase; i++) {
        double freq = data->aFreq[i];
        score += data->aIDF[i] * (freq * (PW_K1 + 1.0)) / (freq + norm);
    }
    sqlite3_result_double(ctx, -score);
}

/* The documented way to reach FTS5's API from C: SELECT fts5(?1) with a bound pointer. */
static fts5_api *pw_fts5_api(sqlite3 *db) {
    fts5_api *api = 0;
    sqlite3_stmt *stmt = 0;
    if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &stmt, 0) == SQLITE_OK) {
        sqlite3_bind_pointer(stmt, 1, (void *)&api, "fts5_api_ptr", 0);
        sqlite3_step(stmt);
    }
    sqlite3_finalize(stmt);
    return api;
}

static int pw_register(sqlite3 *db, char **pzErrMsg, const struct sqlite3_api_routines *pThunk) {
    (void)pzErrMsg;
    (void)pThunk;
    fts5_api *api = pw_fts5_api(db);
    if (api && api->iVersion >= 2) {
        api->xCreateFunction(api, "pw_bm25", 0, pw_bm25, 0);
    }
    /* A library without FTS5 still opens connections; search then says FTS5 is missing. */
    return SQLITE_OK;
}

static PyObject *pw_linked_version(PyObject *self, PyObject *args) {
    (void)self;
    (void)args;
    return PyUnicode_FromString(sqlite3_libversion());
}

static PyMethodDef pw_methods[] = {
    {"sqlite_version", pw_linked_version, METH_NOARGS,
     "The SQLite version this module is linked to (must be the one Python's sqlite3 uses)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef pw_module = {
    PyModuleDef_HEAD_INIT, "_fts5rank",
    "Registers the FTS5 ranking function pw_bm25 on every SQLite connection opened afterwards.", -1,
    pw_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fts5rank(void) {
    if (sqlite3_auto_extension((void (*)(void))pw_register) != SQLITE_OK) {
        PyErr_SetString(PyExc_ImportError, "sqlite3_auto_extension failed");
        return NULL;
    }
    return PyModule_Create(&pw_module);
}

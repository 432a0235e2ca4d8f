/* Internal error codes (negative, returned by internal calls) and ZooKeeper's wire codes
 * (KeeperException.Code), kept as separate types so they are never mixed. */
#ifndef ZK_ERRORS_H
#define ZK_ERRORS_H

enum {
	ZK_OK = 0,
	ZK_ESHORT = -1,    /* input ended inside a field */
	ZK_ERANGE = -2,    /* a length or count outside its bounds */
	ZK_ENOMEM = -3,
	ZK_EINVAL = -4,
	ZK_EIO = -5,
	ZK_ENOSPC = -6,
	ZK_EEXIST = -7,
	ZK_ENOENT = -8,
};

/* ZooKeeper wire error codes. */
typedef enum {
	ZOK = 0,
	ZSYSTEMERROR = -1,
	ZRUNTIMEINCONSISTENCY = -2,
	ZDATAINCONSISTENCY = -3,
	ZCONNECTIONLOSS = -4,
	ZMARSHALLINGERROR = -5,
	ZUNIMPLEMENTED = -6,
	ZOPERATIONTIMEOUT = -7,
	ZBADARGUMENTS = -8,
	ZAPIERROR = -100,
	ZNONODE = -101,
	ZNOAUTH = -102,
	ZBADVERSION = -103,
	ZNOCHILDRENFOREPHEMERALS = -108,
	ZNODEEXISTS = -110,
	ZNOTEMPTY = -111,
	ZSESSIONEXPIRED = -112,
	ZINVALIDCALLBACK = -113,
	ZINVALIDACL = -114,
	ZAUTHFAILED = -115,
	ZSESSIONMOVED = -118,
	ZNOTREADONLY = -119,
	ZEPHEMERALONLOCALSESSION = -120,
	ZNOWATCHER = -121,
	ZRECONFIGDISABLED = -123,
	ZSESSIONCLOSEDREQUIRESASLAUTH = -124,
	ZQUOTAEXCEEDED = -125,
	ZTHROTTLEDOP = -127,
} zk_code;

#endif

/*
 * cert add, cert list, cert revoke. The broker trusts a client certificate only
 * through its SHA-256 fingerprint registered here. They run the operations of
 * common/adminop_identity.c, which reads the certificate with common/adminop_cert.c.
 */
#include "admin.h"
#include "request.h"

/* Options that only make sense with --create-principal. */
#define CREATE_OPTIONS                                                                   \
    (OPT_BIT(OPT_ROLE) | OPT_BIT(OPT_STATE) | OPT_BIT(OPT_AGENCY) | OPT_BIT(OPT_NAME))

const struct admin_command cert_commands[] = {
    {
        .group = "cert",
        .verb = "add",
        .run = request_run_command,
        .options =
            OPT_BIT(OPT_PRINCIPAL) | OPT_BIT(OPT_CREATE_PRINCIPAL) | CREATE_OPTIONS,
        .required = OPT_BIT(OPT_PRINCIPAL),
        .min_args = 1,
        .max_args = 1,
        .synopsis = "cert add CERT.pem --principal ID [--create-principal --role ROLE "
                    "[--state CODE --agency ID] [--name NAME]]",
        .description =
            "Registers the client certificate in CERT.pem (exactly one PEM certificate, "
            "and no private key) for principal ID and prints its SHA-256 "
            "fingerprint: 64 lower-case hex digits of the digest of its DER encoding, as "
            "'openssl x509 -noout -fingerprint -sha256' prints it without colons. The "
            "subject and issuer (RFC 2253), serial (hex), notBefore and notAfter are "
            "stored with it.\n"
            "With --create-principal the principal is created first, as by 'principal "
            "add', unless an identical one exists. Adding the same certificate for the "
            "same principal again changes nothing; adding it for another principal, or "
            "adding a revoked one, fails. It warns when the certificate has expired, is "
            "not yet valid, or its CN or C differ from the principal's id or state.",
    },
    {
        .group = "cert",
        .verb = "list",
        .run = request_run_command,
        .options = OPT_BIT(OPT_PRINCIPAL),
        .synopsis = "cert list [--principal ID]",
        .description = "Lists the certificates, or only those of principal ID: "
                       "fingerprint, principal, status (valid, revoked, expired or not "
                       "yet valid), notAfter and subject.",
    },
    {
        .group = "cert",
        .verb = "revoke",
        .run = request_run_command,
        .options = OPT_BIT(OPT_PRINCIPAL) | OPT_BIT(OPT_REASON),
        .min_args = 0,
        .max_args = 1,
        .synopsis = "cert revoke (FINGERPRINT | --principal ID) [--reason TEXT]",
        .description =
            "Revokes one certificate, given by its SHA-256 fingerprint (hex, either "
            "case, "
            "colons allowed), or every unrevoked certificate of principal ID, and prints "
            "the fingerprints revoked. Revocation is permanent. Once the broker plugin "
            "has "
            "reloaded its policy it rejects the certificate.",
    },
    {0},
};

"""The interop tests' certificates: one test CA, and one leaf per server whose subject alternative
names cover its domains. Leaves carry serverAuth and clientAuth, as s2s certificates must for
servers that check the client usage (ejabberd 23.01)."""

import os
import subprocess


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class TestPKI:
    def __init__(self, directory):
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        self.ca_certificate, self._ca_key = self._authority("ca", "Consulate interop test CA")
        # Trusting only this one means trusting none of the test certificates: the dialback mode.
        self.unrelated_ca_certificate, _ = self._authority("unrelated-ca", "An unrelated CA")

    def _authority(self, name, common_name):
        certificate = os.path.join(self.directory, f"{name}.pem")
        key = os.path.join(self.directory, f"{name}.key")
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate,
                 "-days", "30", "-subj", f"/CN={common_name}",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                 cwd=self.directory)
        return certificate, key

    def leaf(self, name, domains):
        """Issues a certificate for `domains`; returns (certificate path, key path, combined PEM path)."""
        key = os.path.join(self.directory, f"{name}.key")
        request = os.path.join(self.directory, f"{name}.csr")
        certificate = os.path.join(self.directory, f"{name}.crt")
        extensions = os.path.join(self.directory, f"{name}.ext")
        with open(extensions, "w") as f:
            f.write("basicConstraints=CA:FALSE\n")
            f.write("keyUsage=critical,digitalSignature,keyEncipherment\n")
            f.write("extendedKeyUsage=serverAuth,clientAuth\n")
            f.write("subjectAltName=" + ",".join(f"DNS:{d}" for d in domains) + "\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", request, "-subj", f"/CN={domains[0]}",
                 cwd=self.directory)
        _openssl("x509", "-req", "-in", request, "-CA", self.ca_certificate, "-CAkey", self._ca_key, "-CAcreateserial",
                 "-out", certificate, "-days", "30", "-extfile", extensions, cwd=self.directory)
        combined = os.path.join(self.directory, f"{name}.combined.pem")
        with open(combined, "w") as out:
            out.write(open(certificate).read())
            out.write(open(key).read())
        return certificate, key, combined

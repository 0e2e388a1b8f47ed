// Test vectors for the redaction engine (shared/redact.ts): per-rule positives/negatives and
// strings that must never change. Every secret in this file is synthetic (random characters).

/** One rule's test vectors. */
export interface RedactionCase {
  /** Rule id, as it appears in the marker [REDACTED:<rule>]. */
  rule: string;
  /** Texts containing a secret; `secret` is the exact substring that must disappear from the output. */
  positives: { text: string; secret: string }[];
  /** Texts that look close to this rule but hold no secret: they must come out unchanged. */
  negatives: string[];
}

const RSA_PRIVATE_KEY = `-----BEGIN RSA PRIVATE KEY-----
MIIEpAIBAAKCAQEAOX6yBOKjuQdkN+LqamKCnRDPfICYOCi+jd91qZvEqF/jSBGC
PU5xrpPjMMnfOlBjWYSBbckIs1/dyed4Tkffq4u3ocTVnfqyRPscXcKMSW03+BE/
m2Rv6PeHvsYEyLqhryNo7/SfYauGygvNo1jRQPjNbcg9dA9VLoExV0SI2CUlAks6
PQPfoHTBw/OuseXtyiJDdDnxkcQ2UuZsE+mSQy0hEfNaaxQVch3/atL5+3PNhFU7
5IH39TaLS6a1KukUZf2Kk/U1DzwD7h3BceVyDELd+yMptzcxHqfRE9dMf2b8A2jC
UlKtPGZy8tSu9RvJz3zcD9n6fsct9E/HOOf6/cFGTNcjcsD3sH5RP9SWTtYUPzQl
Xo3feypUenVsTwNq8uymthRJVfll+2Jos4fbNBMPLEGIU3WiBe73aWzQyZ4/rNYq
J3rAlzWDzJTT4v0WsL8KjfyhthFip01AK72lRfzH7HJ0XJkVrz5PZTA//RkNvH2i
THH2ii+5tgx9tcokKNkhv48lvpsAgjbHf9W5rxhxVC6JK4rj14UL0rQrIFMNe9UW
-----END RSA PRIVATE KEY-----`;

const EC_PRIVATE_KEY = `-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIyWDussTHzNdtUiqUkbWnJS2aWICPUt9Hpvv6/fGFFanbN92Buu2REhK
BWurX7oE3NetgMz0omr9xXSADtpCh11C4YeS0LBBBo2MBeKrkPcGJtCkOVzeMny5
pmTsCPhVLG1qW9A==
-----END EC PRIVATE KEY-----`;

const OPENSSH_PRIVATE_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtz
c2gtZWjjVCJiJ4cORvmPV/1XnGvvPK9Ua9TbMGJ+dRzaz1YFBHa0oMbJjdUQry7/
cJ3WsrApfiMXZ78h6es2lRRPz16uTCb+cbyD20Jsvmg+E3HFteomwL8bBETlDBmf
Br6pWindcHxxgrma7eO97aBDwCDsRINRvdKZneLyn3y24/00L7bbbdu8RPPVmdFB
YkBg5CuYgbSLaUfrVy9fFDUM68YV052jKkY5e/WJrLhh7+cQ1CU++UFcHkz4PUhZ
+rVP2844TQByhwNs1WJ4cSD37aE9BFKGvgo3WL4MthgPzQwZFUgVmJO9W4G4vnpT
rU6A5aHghVo7tigNNygSxvvNHr4LsppWbirB5GWKcsSIheZUOZvoqiGntYV2bRWt
EuMWbcpk8NrR/ts0Om0akC
-----END OPENSSH PRIVATE KEY-----`;

const PKCS8_PRIVATE_KEY = `-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCEn4XE/s0XFEh+XOhIy7WzQc9CnfODinv
9T+hleL9hZWgYZOgQkZnvl/0MPDvVawdjIAOcPRFcO0akQe/a3g4rYylqpQSv8Pc
C4IsqouAIYmXxTSKfv1mbJJH+TRl561omUbI1TgoC3agehT36N2FU1umrU+RtexY
NcT2rhK/utj9towuZ+f3aGj74+F6g6B2D28nqYK+q3+jO/m0src3DuuJx6mFdAfM
JD02ZMORRfuu2H0Cx9Al4UoUTG1ssiJtzK+otZqmdfr/t1YJbDNhlVnQv1Lszj3/
S32/A+8cmZ7xrcGITmiWyrEsmZestWL4cIHGXbJIbo1c08lFytfmnbLOoXlAFWIf
t14Q9UxC5CiIy9Na4ax1embdCh4yN9ePg1jWFO5XbWrAVG5j3DZxpylMYRX3COxA
Wz6jgRjtkYvea+WkpALqMgwz5Ku7c8ISg/9jmCJwMcuFm3CDme12bZnu135c24FV
-----END PRIVATE KEY-----`;

const ENCRYPTED_PRIVATE_KEY = `-----BEGIN ENCRYPTED PRIVATE KEY-----
MIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQISB12Lw35GSL7YRPd
Cpef7cp9pmQ9p+QKI1/7+6MTw+qZieC+b3pWYh0zA6IXHZ3P/NKDKnwEc2C1q6P5
Zg/OQXKw9IcFBHsL7UEhgiOHCjEoBjxj6qb5ie6BQ1xuDyYtDzeNFMXRlHStn7Zm
FYeXOW0QWQwO4qNgG0wyern8zbRw+BztOpoVJ4wGhFQ/ogeNTk11TC+T7efz+aie
Yh1nOr186r4S7suNuJZoBNoHz8N82Clq4AoJuxVq3p8K4SJ+Llx04conx/xSwb7I
1pagupoanSEinonMj+WicAfDOcv+aytw2JS1X2deb5f4qq+jRnBNclSbOzBjsEaa
kxV7a0dOMCQrS7QVVoPp23z78tGUf4MHjEeLwzw+TplQl48zqI1XTYfR80nxqV/q
nRvakiSqnE4iyutJ6o1mJtGq0WjivNAyVeBGW9Pi
-----END ENCRYPTED PRIVATE KEY-----`;

const PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA/d0erVjRdfPQ9GU+8+60
GtkYiCNYAOhRZeVw6aHCRvQ1mNXElI4b4wLYhOi6cCgRcQGvK8ecmsO3ttO9uaNZ
8F3tI/W67ch9M7NfLmH/0IQglFUYfX1mhupksP2pupqT4ceReeu9rNY3EqSmoohu
V0B7VwWuGFqgR5eCjanbQh3TShmyv9W1snxfPrBHjfpkYKZCfS2fmo3bwdCxeb8s
g64DwluWevskE14mcJd38nEDLTKhVcBeyTFwg8d3FrO/HwTH2DSPn/7Zgu6pDUhW
8AiXgDGUHWQDhb1hRVLc0OVfwidABD6Dlwd0gdmXQANy5ymyZPdle5dzU99Y7fno
5xYhidY=
-----END PUBLIC KEY-----`;

const CERTIFICATE = `-----BEGIN CERTIFICATE-----
MIIDdzCCAl+gAwIBAgIURa9QSImzssGXlPp8gX7tqJC1YnC7fw2Ev/ekuPY9jax/
jHNtbIZIuftUuToaYqDcFhvIugY0eieWULD2FEcoWQdQcu2AUdg+/aCZWt29iDuJ
kTWLhwbazBOhbB5ctKxFqVOfmQY2APw7cE7wNop/3Yp6O8IMwRo9Cn7SGP+MlC0b
4OSajzJk4/W/kREZ4yQKLZXckql59dvWsRhUfyyPSOb7BY2fwFRyAkmTg+F7zHVp
PEKy2SI7Xc3demTrHngOz1LnLjlXJj6UyrKpyb0lG8z4gaNwkzccrYkMkjcg/rB4
Hinskt5RQhfVtI0osCzGASlHeOLbm0zeczOL5D4qq3z8Ggj6T4qQBe3EtrhcJzf3
kmU6Tq07IegZ6sgzfAaltLC22lczNKww6WycKG75Z9kDplSAGTNb1n4U3Yv+ThLB
875+UPA8efYF3jMs9RRaC25Styww4UcBFe9qqjOCxwuy5AWv+DuwFNXcCzgJWjeY
cuL1qwrQBuIVcjXyPUBDppgxHs4hA2imlNynb095m4VUoSaiW8GS6auSv5V3Cogs
xDcXQ
-----END CERTIFICATE-----`;

export const REDACTION_CASES: RedactionCase[] = [
  {
    rule: "pem_private_key",
    positives: [
      { text: "$ cat ~/.ssh/deploy_rsa\n" + RSA_PRIVATE_KEY + "\n", secret: RSA_PRIVATE_KEY },
      {
        text: "$ cat ~/.ssh/id_ed25519\n" + OPENSSH_PRIVATE_KEY +
          "\n$ ssh-add ~/.ssh/id_ed25519\nIdentity added: ~/.ssh/id_ed25519 (ci@acme)",
        secret: OPENSSH_PRIVATE_KEY,
      },
      {
        text: '# tests/fixtures/signing.py\nSIGNING_KEY_PEM = """' + PKCS8_PRIVATE_KEY + '\n"""\n',
        secret: PKCS8_PRIVATE_KEY,
      },
      {
        text:
          "$ openssl pkcs8 -topk8 -v2 aes-256-cbc -in server.key\nEnter Encryption Password:\n" +
          ENCRYPTED_PRIVATE_KEY,
        secret: ENCRYPTED_PRIVATE_KEY,
      },
      { text: "writing EC key\n" + EC_PRIVATE_KEY + "\n", secret: EC_PRIVATE_KEY },
      {
        text:
          "apiVersion: v1\nkind: Secret\nmetadata:\n  name: webhook-tls\ntype: kubernetes.io/tls\nstringData:\n  tls.key: |\n    -----BEGIN EC PRIVATE KEY-----\n    MHcCAQEEIBvpAaDCGoJN928wzj48jHBodYT3lwfRKsjfAxOvhU0L6T49MeQk0+Gw\n    3kX6xaidD2HKwCwcQc0NvWQWSYDsaBkVgsLYjRCwz9vAB3+ZSCcmj268LqZnEvmM\n    P/\n    -----END EC PRIVATE KEY-----\n",
        secret:
          "-----BEGIN EC PRIVATE KEY-----\n    MHcCAQEEIBvpAaDCGoJN928wzj48jHBodYT3lwfRKsjfAxOvhU0L6T49MeQk0+Gw\n    3kX6xaidD2HKwCwcQc0NvWQWSYDsaBkVgsLYjRCwz9vAB3+ZSCcmj268LqZnEvmM\n    P/\n    -----END EC PRIVATE KEY-----",
      },
      {
        text:
          '{"type": "service_account", "project_id": "acme-prod-4821", "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASCy0WnLniY0DuXehDL9Q5Imge30JTIKhwo\\n/H4Bm7v/m2MH97yCBbfII+iaqRIzIWUynR7oEH4El6ZWPU163pDmbaW3RMCdyJfY\\nfMxQ6DyBZBUaQEjCQJ0PRn11V6tGIgNAkeJOF/yPbY5RXm3SHpdxa/6YQoZuH+y7\\nxdd7F1jPx3cueB9+K40KiUwpVQnBvN7WsAKefOBpEbji6/JTacIrt+XD6QlgJdpm\\n9qLHWo5vTdeeOLa/GGoBDZ3KCCM28NKFQc7hK4gaCv0W2hpMXoEKAV7Lon0I8VJj\\nsOKjRiJhPlPkKSVwQeQFKf/DSR6LhGUe\\n-----END PRIVATE KEY-----\\n", "client_id": "104837261945028374615"}',
        secret:
          "-----BEGIN PRIVATE KEY-----\\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASCy0WnLniY0DuXehDL9Q5Imge30JTIKhwo\\n/H4Bm7v/m2MH97yCBbfII+iaqRIzIWUynR7oEH4El6ZWPU163pDmbaW3RMCdyJfY\\nfMxQ6DyBZBUaQEjCQJ0PRn11V6tGIgNAkeJOF/yPbY5RXm3SHpdxa/6YQoZuH+y7\\nxdd7F1jPx3cueB9+K40KiUwpVQnBvN7WsAKefOBpEbji6/JTacIrt+XD6QlgJdpm\\n9qLHWo5vTdeeOLa/GGoBDZ3KCCM28NKFQc7hK4gaCv0W2hpMXoEKAV7Lon0I8VJj\\nsOKjRiJhPlPkKSVwQeQFKf/DSR6LhGUe\\n-----END PRIVATE KEY-----",
      },
    ],
    negatives: [
      "$ cat certs/jwt_public.pem\n" + PUBLIC_KEY + "\n",
      "$ openssl x509 -in tls.crt -outform PEM\n" + CERTIFICATE + "\n",
      "Never commit the private key; keep it in the vault and mount it at runtime.",
      "$ git grep -n \"BEGIN RSA PRIVATE KEY\" -- ':!*.md'\n(no matches)",
      'const isPrivateKey = pem.includes("PRIVATE KEY-----");',
    ],
  },
  {
    rule: "cookie_header",
    positives: [
      {
        text: "Cookie: _ga=GA1.2; sessionid=k3n9x2vq8w7z5t1m4b6c0d; csrftoken=short",
        secret: "k3n9x2vq8w7z5t1m4b6c0d",
      },
      {
        text:
          'curl -s -H "Cookie: connect.sid=s%3AVx9Lq2mR7tKp.4nB8wQ" http://127.0.0.1:3000/api/me',
        secret: "s%3AVx9Lq2mR7tKp.4nB8wQ",
      },
      {
        text: "< Set-Cookie: PHPSESSID=9f86d081884c7d659a2feaa0c55ad015; path=/; HttpOnly",
        secret: "9f86d081884c7d659a2feaa0c55ad015",
      },
    ],
    negatives: [
      "Cookie: theme=dark; lang=en",
      "document.cookie.split('; ').find((row) => row.startsWith('theme='))",
      "The cookie consent banner appears once per visit.",
    ],
  },
  {
    rule: "jwt",
    positives: [
      {
        text:
          "2025-01-14T10:22:31.482Z DEBUG auth.middleware verified session eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c3JfNDgxMiIsInJvbGUiOiJhZG1pbiIsImlhdCI6MTczNjg0OTAwMCwiZXhwIjoxNzM2ODUyNjAwfQ.Vovv9JyT8YQeZJKMVRKiTKQBfFnpPwgXX_njN7cV5Fg for user 4812",
        secret:
          "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c3JfNDgxMiIsInJvbGUiOiJhZG1pbiIsImlhdCI6MTczNjg0OTAwMCwiZXhwIjoxNzM2ODUyNjAwfQ.Vovv9JyT8YQeZJKMVRKiTKQBfFnpPwgXX_njN7cV5Fg",
      },
      {
        text:
          "Cookie: theme=dark; session=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzaWQiOiI4YzFkMmUzZiIsInVpZCI6MjIzMSwiZXhwIjoxNzM2OTAwMDAwfQ.Zc2LYOGy0_RWdJJg7hz0-3MZJa7zTUpodbHI7F3VTHs; lang=en",
        secret:
          "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzaWQiOiI4YzFkMmUzZiIsInVpZCI6MjIzMSwiZXhwIjoxNzM2OTAwMDAwfQ.Zc2LYOGy0_RWdJJg7hz0-3MZJa7zTUpodbHI7F3VTHs",
      },
      {
        text:
          'claims = jwt.decode("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2F1dGguYWNtZS5kZXYvIiwic3ViIjoiYXV0aDB8NmYxYzJhOWUzYjdkIiwiYXVkIjoib3JkZXJzLWFwaSIsImlhdCI6MTczNjg1MDEyMiwiZXhwIjoxNzM2OTM2NTIyLCJzY29wZSI6Im9yZGVyczpyZWFkIG9yZGVyczp3cml0ZSJ9.66gmQJG3dw6a3K7NyRUqGZdoBIjy0iZd_GU5_moj3uEtnxLkySX0IyCwNOIbTEl-meLnEVz94afwAZhR4WGIIPIPLLPjtvtfvvN1iRLi0b-zuimhq98qqhp5CO1U1QrrNUm8IilGxiNYF_OBnCGoPd6gW5I-LpXQqe89DWsKDQKEEDl3oIxnarywSKY_IgzvHUwRD62ZgbtW4duxQivrOiM8zJP91B4lMiUNut2BtHavdnGLxil5ADZSdFy2fb0TzcBqxWRFwPfdZygnMlq0PeBXomhLJv8y31Yze2bY0adjZxeV1O8e0juWa3PnXB7alNWIN_SYJLigNNPOn5kHGw", options={"verify_signature": False})',
        secret:
          "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJodHRwczovL2F1dGguYWNtZS5kZXYvIiwic3ViIjoiYXV0aDB8NmYxYzJhOWUzYjdkIiwiYXVkIjoib3JkZXJzLWFwaSIsImlhdCI6MTczNjg1MDEyMiwiZXhwIjoxNzM2OTM2NTIyLCJzY29wZSI6Im9yZGVyczpyZWFkIG9yZGVyczp3cml0ZSJ9.66gmQJG3dw6a3K7NyRUqGZdoBIjy0iZd_GU5_moj3uEtnxLkySX0IyCwNOIbTEl-meLnEVz94afwAZhR4WGIIPIPLLPjtvtfvvN1iRLi0b-zuimhq98qqhp5CO1U1QrrNUm8IilGxiNYF_OBnCGoPd6gW5I-LpXQqe89DWsKDQKEEDl3oIxnarywSKY_IgzvHUwRD62ZgbtW4duxQivrOiM8zJP91B4lMiUNut2BtHavdnGLxil5ADZSdFy2fb0TzcBqxWRFwPfdZygnMlq0PeBXomhLJv8y31Yze2bY0adjZxeV1O8e0juWa3PnXB7alNWIN_SYJLigNNPOn5kHGw",
      },
      {
        text:
          "TokenExpiredError: jwt expired\n    at verify (/work/main/node_modules/jsonwebtoken/verify.js:190:21)\n    at authenticate (/work/main/src/auth.ts:41:9) {\n  expiredAt: 2025-01-14T09:00:00.000Z,\n  input: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzdmMtYmlsbGluZyIsInRlbmFudCI6ImFjbWUiLCJpYXQiOjE3MzY4NDExMTF9.OueebxF47X-kKQ-KrTie9RlltWWSzsn6hBsthXgcwvI'\n}",
        secret:
          "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzdmMtYmlsbGluZyIsInRlbmFudCI6ImFjbWUiLCJpYXQiOjE3MzY4NDExMTF9.OueebxF47X-kKQ-KrTie9RlltWWSzsn6hBsthXgcwvI",
      },
    ],
    negatives: [
      'The header eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9 decodes to {"alg":"HS256","typ":"JWT"}.',
      'const token = jwt.sign({ sub: user.id }, process.env.JWT_SECRET!, { expiresIn: "1h" });',
      'import { jwtDecode } from "jwt-decode";',
    ],
  },
  {
    rule: "aws_access_key",
    positives: [
      {
        text: "export AWS_ACCESS_KEY_ID=AKIAAUZOJ3KU265X3HKN\nexport AWS_DEFAULT_REGION=eu-west-1",
        secret: "AKIAAUZOJ3KU265X3HKN",
      },
      {
        text:
          '{\n    "Credentials": {\n        "AccessKeyId": "ASIAWSRTUVNCAGW36KSJ",\n        "Expiration": "2025-01-14T11:22:31+00:00"\n    }\n}',
        secret: "ASIAWSRTUVNCAGW36KSJ",
      },
      {
        text:
          'provider "aws" {\n  region     = "us-east-1"\n  access_key = "AKIABFOL5GEMPMX45Q4Y"\n}',
        secret: "AKIABFOL5GEMPMX45Q4Y",
      },
      {
        text:
          "2025-01-14 10:22:31 WARN s3.PutObject AccessDenied principal=ABIASSIEQ4X72BWQW4YP bucket=acme-artifacts",
        secret: "ABIASSIEQ4X72BWQW4YP",
      },
      {
        text: "kinesis consumer started with key ACCABIPOECAHPSUKPZS2 (role acme-ingest)",
        secret: "ACCABIPOECAHPSUKPZS2",
      },
    ],
    negatives: [
      "aws configure set aws_access_key_id AKIAIOSFODNN7EXAMPLE  # from the AWS docs",
      "Access key IDs start with AKIA (long-term) or ASIA (temporary STS credentials).",
      "arn:aws:iam::123456789012:role/acme-deployer",
    ],
  },
  {
    rule: "aws_secret_key",
    positives: [
      {
        text:
          "[default]\naws_access_key_id = AKIABFOL5GEMPMX45Q4Y\naws_secret_access_key = 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\nregion = eu-central-1",
        secret: "Fvu+AvSUmOdknbDgU09LHofAV5Xr6Pw//1FbfKsA",
      },
      {
        text:
          "$ env | grep AWS\nAWS_REGION=eu-west-1\nAWS_SECRET_ACCESS_KEY=ffqacArSmjs/lpEjEl9BlevOvFeevFlwiZwuG9Jn\nAWS_PROFILE=ci",
        secret: "ffqacArSmjs/lpEjEl9BlevOvFeevFlwiZwuG9Jn",
      },
      {
        text:
          '        "SecretAccessKey": "cYYRkeXESGaCKuSZGLf7Xo39OZCPo4IxI80uQ8iI",\n        "SessionToken": "IQoJb3JpZ2luX2VjEOr//////////wEaCWV1LXdlc3QtMSJHMEUCIQ",',
        secret: "cYYRkeXESGaCKuSZGLf7Xo39OZCPo4IxI80uQ8iI",
      },
      {
        text:
          "docker run --rm -e AWS_SECRET_ACCESS_KEY=NRhB5dwWt2Hskq5m5YrHyOCTTUe2whm7E1ODP+h+ -e AWS_REGION=us-east-1 amazon/aws-cli s3 ls",
        secret: "NRhB5dwWt2Hskq5m5YrHyOCTTUe2whm7E1ODP+h+",
      },
      {
        text:
          's3 = boto3.client("s3", aws_access_key_id=key_id, aws_secret_access_key="e6zu3Va0JOJqFvJ5vLglrfx8CzDAmr90D6r8ofAT")',
        secret: "e6zu3Va0JOJqFvJ5vLglrfx8CzDAmr90D6r8ofAT",
      },
    ],
    negatives: [
      "commit 9f2c4e7a1b3d5f60718293a4b5c6d7e8f9012a3b\nMerge: 1c2d3e4 5f6a7b8",
      "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
      "aws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}",
      "Set AWS_SECRET_ACCESS_KEY in the CI settings, not in the repository.",
    ],
  },
  {
    rule: "azure_storage_key",
    positives: [
      {
        text:
          'AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=https;AccountName=acmeprodlogs;AccountKey=gJlWd2zS6JxMuZNyrzPJ7bqc0QNq8EjEK+h3frj6s099zf4thMo0U4ZgE2fe7HV+drZy9LXIVlKOKOseKue/XA==;EndpointSuffix=core.windows.net"',
        secret:
          "gJlWd2zS6JxMuZNyrzPJ7bqc0QNq8EjEK+h3frj6s099zf4thMo0U4ZgE2fe7HV+drZy9LXIVlKOKOseKue/XA==",
      },
      {
        text:
          '{\n  "ConnectionStrings": {\n    "Blobs": "DefaultEndpointsProtocol=https;AccountName=acmeassets;AccountKey=qeDMWYTFYtVXwrndYkf+1M91J81PVwdpq3tx6pMT0ZPjyvgW1xYE43qXwgbMvVmUdTqebIRKDm1ujLts6f9h+g==;EndpointSuffix=core.windows.net"\n  }\n}',
        secret:
          "qeDMWYTFYtVXwrndYkf+1M91J81PVwdpq3tx6pMT0ZPjyvgW1xYE43qXwgbMvVmUdTqebIRKDm1ujLts6f9h+g==",
      },
      {
        text:
          '$ az storage account show-connection-string -n acmebackups -g rg-prod\n{\n  "connectionString": "DefaultEndpointsProtocol=https;EndpointSuffix=core.windows.net;AccountName=acmebackups;AccountKey=Z7qJSLaM3q0sXY4YTOwya2Ggxp7rQKQWZ8SAEIYJGp62ofML9OsxNs4X8oMzop5w/bRo44oftPu6iUT3OSY/xw==;BlobEndpoint=https://acmebackups.blob.core.windows.net/"\n}',
        secret:
          "Z7qJSLaM3q0sXY4YTOwya2Ggxp7rQKQWZ8SAEIYJGp62ofML9OsxNs4X8oMzop5w/bRo44oftPu6iUT3OSY/xw==",
      },
      {
        text:
          'conn = "DefaultEndpointsProtocol=https;AccountName=acmeml;AccountKey=NMdE7ThU1zw1hxlCp1jAJNap3dMDWiS5NH9BjjyhVaa/7LKycMULMfFx7LhW/A5vLqektt0JW/4z5dkU7JYuHg==;EndpointSuffix=core.windows.net"',
        secret:
          "NMdE7ThU1zw1hxlCp1jAJNap3dMDWiS5NH9BjjyhVaa/7LKycMULMfFx7LhW/A5vLqektt0JW/4z5dkU7JYuHg==",
      },
    ],
    negatives: [
      "AZURE_STORAGE_CONNECTION_STRING=UseDevelopmentStorage=true",
      "DefaultEndpointsProtocol=https;AccountName=acmeprodlogs;AccountKey=${STORAGE_ACCOUNT_KEY};EndpointSuffix=core.windows.net",
      "Copy AccountKey from the portal (Security + networking > Access keys) into Key Vault.",
    ],
  },
  {
    rule: "azure_shared_access_key",
    positives: [
      {
        text:
          "SERVICEBUS_CONNECTION=Endpoint=sb://acme-orders.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=8TANvQcy7m3YI5OrObFOpsscDOuY4E3OnntdSNwxKo4=",
        secret: "8TANvQcy7m3YI5OrObFOpsscDOuY4E3OnntdSNwxKo4=",
      },
      {
        text:
          'producer = EventHubProducerClient.from_connection_string("Endpoint=sb://acme-telemetry.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey=p9NBvrONL367wqk3RiQgkfQonyvFt1Ig4PKzv570cfs=;EntityPath=hook-events")',
        secret: "p9NBvrONL367wqk3RiQgkfQonyvFt1Ig4PKzv570cfs=",
      },
      {
        text:
          'iothub:\n  device_connection_string: "HostName=acme-iot.azure-devices.net;DeviceId=sensor-17;SharedAccessKey=xeCslb7UHK+iDyUuujWoRGGmbx1ZYci3BPdk3JtDu10="',
        secret: "xeCslb7UHK+iDyUuujWoRGGmbx1ZYci3BPdk3JtDu10=",
      },
      {
        text:
          '  "primaryConnectionString": "Endpoint=sb://acme-jobs.servicebus.windows.net/;SharedAccessKeyName=worker;SharedAccessKey=ApO/sWSYC4Ou8Zf/GfeHZhwwyRm3gvtX/a52eaLQBDo=",',
        secret: "ApO/sWSYC4Ou8Zf/GfeHZhwwyRm3gvtX/a52eaLQBDo=",
      },
    ],
    negatives: [
      "SharedAccessKeyName=RootManageSharedAccessKey",
      "Endpoint=sb://acme-orders.servicebus.windows.net/;Authentication=Managed Identity",
      "The SharedAccessKey is read from Key Vault at startup.",
    ],
  },
  {
    rule: "azure_sas_token",
    positives: [
      {
        text:
          'curl -X PUT -H "x-ms-blob-type: BlockBlob" --data-binary @build.zip "https://acmeartifacts.blob.core.windows.net/builds/build-812.zip?sv=2022-11-02&ss=b&srt=co&sp=rwdlac&se=2025-03-01T00:00:00Z&st=2025-01-14T00:00:00Z&spr=https&sig=UhoFLrKo2wtNgQMoEAnVEVvt3g9OOSOgTc51oM5hAag%3D"',
        secret: "UhoFLrKo2wtNgQMoEAnVEVvt3g9OOSOgTc51oM5hAag%3D",
      },
      {
        text:
          "azcopy copy './dist/*' 'https://acmestatic.blob.core.windows.net/$web?sv=2022-11-02&ss=b&srt=sco&sp=rwl&se=2025-02-01T00:00:00Z&spr=https&sig=tbpCziBIWFlg4xzBAk6e3ybFfFCMQAYmKa2gT1Ivx3w%3D' --recursive",
        secret: "tbpCziBIWFlg4xzBAk6e3ybFfFCMQAYmKa2gT1Ivx3w%3D",
      },
      {
        text:
          "BLOB_SAS_URL=https://acmeml.blob.core.windows.net/datasets?sp=r&st=2025-01-14T08:00:00Z&se=2025-01-15T08:00:00Z&spr=https&sv=2022-11-02&sr=c&sig=jH1ppMH1OPukiJxN2HaLKbCtAYQqGA4zhBXdNUmvfUU%3D",
        secret: "jH1ppMH1OPukiJxN2HaLKbCtAYQqGA4zhBXdNUmvfUU%3D",
      },
      {
        text:
          "BlobEndpoint=https://acmelogs.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&ss=bfqt&srt=sco&sp=rl&se=2025-06-30T00:00:00Z&spr=https&sig=gKNMxU7ulNSxRFBG%2BkdbA0Y7IX5b534t%2BoR4lhdgS%2FA%3D",
        secret: "gKNMxU7ulNSxRFBG%2BkdbA0Y7IX5b534t%2BoR4lhdgS%2FA%3D",
      },
    ],
    negatives: [
      "https://acmestatic.blob.core.windows.net/$web/index.html",
      "https://acmeartifacts.blob.core.windows.net/builds?restype=container&comp=list",
      "const url = `${containerUrl}?${sasToken}`;",
    ],
  },
  {
    rule: "azure_ad_client_secret",
    positives: [
      {
        text:
          'credential = ClientSecretCredential(TENANT_ID, CLIENT_ID, "CGZ0Q~xU3hX4owO9xGAp3Mr2i_QxlrXwAkch.-On")',
        secret: "CGZ0Q~xU3hX4owO9xGAp3Mr2i_QxlrXwAkch.-On",
      },
      {
        text:
          "AZURE_CLIENT_ID=5e0c9a7d-2b41-4f6e-9c3a-8d1b7e2f4a60\nAZURE_CLIENT_SECRET=zKt5Q~x1hZqn19amVkHh06N7VEjJ_NQ_PEAwizHE",
        secret: "zKt5Q~x1hZqn19amVkHh06N7VEjJ_NQ_PEAwizHE",
      },
      {
        text:
          '{\n  "AzureAd": {\n    "Instance": "https://login.microsoftonline.com/",\n    "ClientSecret": "E1W2Q~-bDZw_6MCyZyhM18JDuG0AyNyK-yzob.1J"\n  }\n}',
        secret: "E1W2Q~-bDZw_6MCyZyhM18JDuG0AyNyK-yzob.1J",
      },
      {
        text:
          '$ az ad app credential reset --id 5e0c9a7d-2b41-4f6e-9c3a-8d1b7e2f4a60\n{\n  "appId": "5e0c9a7d-2b41-4f6e-9c3a-8d1b7e2f4a60",\n  "password": "DK53Q~jgbBr-j5VG1guCQnxfDTUEY5jSYJkq0tHl",\n  "tenant": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"\n}',
        secret: "DK53Q~jgbBr-j5VG1guCQnxfDTUEY5jSYJkq0tHl",
      },
    ],
    negatives: [
      '{"displayName": "ci", "endDateTime": "2026-01-14T10:00:00Z", "hint": "Xk8", "keyId": "0f3e5d7c-9b1a-4c2e-8f6d-4a2b0c9e7d51"}',
      'client_secret = os.environ["AZURE_CLIENT_SECRET"]',
      "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
    ],
  },
  {
    rule: "gcp_api_key",
    positives: [
      {
        text:
          'curl "https://maps.googleapis.com/maps/api/geocode/json?address=Berlin&key=AIzaE1Dfp821azoK4DerHBXyJdsLD6kIoILwjYn"',
        secret: "AIzaE1Dfp821azoK4DerHBXyJdsLD6kIoILwjYn",
      },
      {
        text:
          'const firebaseConfig = {\n  apiKey: "AIzadJslqQN_p5y3R8lob3qhG5bnU5fEq-phM9Q",\n  authDomain: "acme-app.firebaseapp.com",\n  projectId: "acme-app",\n};',
        secret: "AIzadJslqQN_p5y3R8lob3qhG5bnU5fEq-phM9Q",
      },
      {
        text:
          '      "api_key": [\n        {\n          "current_key": "AIzarDuoJGH2fGsD1dsueF3FGpdRX2_VM6VuHTb"\n        }\n      ],',
        secret: "AIzarDuoJGH2fGsD1dsueF3FGpdRX2_VM6VuHTb",
      },
      {
        text:
          "2025-01-14T10:22:31Z ERROR POST https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:generateContent?key=AIzaxXd3uzGms2XByDFXjF442fc9N2BGaLskUOW -> 429",
        secret: "AIzaxXd3uzGms2XByDFXjF442fc9N2BGaLskUOW",
      },
    ],
    negatives: [
      "Browser keys start with AIza and must be restricted by HTTP referrer.",
      "apiKey: process.env.NEXT_PUBLIC_FIREBASE_API_KEY,",
    ],
  },
  {
    rule: "digitalocean_token",
    positives: [
      {
        text:
          "$ doctl auth init --context staging --access-token dop_v1_ac257b4d247addb7fedc186c2b67e940c4f2671ceb166b6cdb5219789e22b777\nValidating token... OK",
        secret: "dop_v1_ac257b4d247addb7fedc186c2b67e940c4f2671ceb166b6cdb5219789e22b777",
      },
      {
        text:
          '{"access_token":"doo_v1_96e0a62f51ecd44c2b2dd680d553dfb92e14b20537377fa7bcc49bb76cadea2c","token_type":"bearer","expires_in":2592000,"refresh_token":"dor_v1_5c51e760876e2f82b160c656daf2bd91f57056fee8dabba7bc717f2c674fd2a2"}',
        secret: "dor_v1_5c51e760876e2f82b160c656daf2bd91f57056fee8dabba7bc717f2c674fd2a2",
      },
      {
        text:
          '{"access_token":"doo_v1_96e0a62f51ecd44c2b2dd680d553dfb92e14b20537377fa7bcc49bb76cadea2c","token_type":"bearer","expires_in":2592000}',
        secret: "doo_v1_96e0a62f51ecd44c2b2dd680d553dfb92e14b20537377fa7bcc49bb76cadea2c",
      },
      {
        text:
          '# terraform.tfvars\ndo_token = "dop_v1_4f8b0652e9fc5a94b8f090ee20c98b632f4cc0b2538ca1f8ab67576c0539d059"\nregion   = "fra1"',
        secret: "dop_v1_4f8b0652e9fc5a94b8f090ee20c98b632f4cc0b2538ca1f8ab67576c0539d059",
      },
    ],
    negatives: [
      "Personal access tokens start with dop_v1_ and are shown only once.",
      "      - uses: digitalocean/action-doctl@v2\n        with:\n          token: ${{ secrets.DIGITALOCEAN_ACCESS_TOKEN }}",
    ],
  },
  {
    rule: "github_pat",
    positives: [
      {
        text: "$ echo ghp_sGChUt2zlA0C6Roe7Mv8tAYrYXPcfjUXtNvY | gh auth login --with-token",
        secret: "ghp_sGChUt2zlA0C6Roe7Mv8tAYrYXPcfjUXtNvY",
      },
      {
        text: 'from github import Github\ngh = Github("ghp_CCt4OZB3kYVc0myJmVuMD17x3OReA6tAQtZ9")',
        secret: "ghp_CCt4OZB3kYVc0myJmVuMD17x3OReA6tAQtZ9",
      },
      {
        text: "$ GH_TOKEN=ghp_WFfVzSfve10QAomrtOt9fHWFiiPYZCFdwqg9 gh pr list --repo acme/api",
        secret: "ghp_WFfVzSfve10QAomrtOt9fHWFiiPYZCFdwqg9",
      },
      {
        text:
          '[url "https://ghp_OA3uFePwfdPidEE3AithkgnMY6fn7w07l97X@github.com/"]\n\tinsteadOf = https://github.com/',
        secret: "ghp_OA3uFePwfdPidEE3AithkgnMY6fn7w07l97X",
      },
    ],
    negatives: [
      "Classic personal access tokens start with ghp_ and fine-grained ones with github_pat_.",
      "          token: ${{ secrets.GITHUB_TOKEN }}",
      "const GITHUB_PAT_RE = /ghp_[0-9A-Za-z]{36}/;",
    ],
  },
  {
    rule: "github_fine_grained_pat",
    positives: [
      {
        text:
          '{\n  "mcpServers": {\n    "github": {\n      "command": "github-mcp-server",\n      "env": { "GITHUB_PERSONAL_ACCESS_TOKEN": "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" }\n    }\n  }\n}',
        secret:
          "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",
      },
      {
        text:
          '$ echo "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" | gh auth login --with-token\n$ gh auth status',
        secret:
          "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",
      },
      {
        text:
          "2025-01-14T10:22:31Z WARN sync: GitHub returned 401 for 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, falling back to anonymous",
        secret:
          "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",
      },
    ],
    negatives: [
      'github_pat_scopes = ["contents:read", "pull_requests:write"]',
      "GITHUB_PERSONAL_ACCESS_TOKEN: ${GITHUB_PAT}",
    ],
  },
  {
    rule: "github_oauth_token",
    positives: [
      {
        text:
          "github.com:\n    users:\n        octocat:\n            oauth_token: gho_LV1jDFolRBSas6sQlGtImgdJBgyfc6jDmP85\n    git_protocol: https\n    oauth_token: gho_LV1jDFolRBSas6sQlGtImgdJBgyfc6jDmP85\n    user: octocat",
        secret: "gho_LV1jDFolRBSas6sQlGtImgdJBgyfc6jDmP85",
      },
      {
        text: "$ gh auth token\ngho_nZJEIqI0oUFRPm1T3Fyy7YFFsuJnbTIeq1Fv",
        secret: "gho_nZJEIqI0oUFRPm1T3Fyy7YFFsuJnbTIeq1Fv",
      },
      {
        text:
          "protocol=https\nhost=github.com\nusername=octocat\npassword=gho_27XRp84u8Q4PwwShRmYkFfwm9oYU5NBAXEsd",
        secret: "gho_27XRp84u8Q4PwwShRmYkFfwm9oYU5NBAXEsd",
      },
    ],
    negatives: [
      "github.com\n  ✓ Logged in to github.com account octocat (keyring)\n  - Active account: true\n  - Git operations protocol: https\n  - Token: gho_************************************",
      "OAuth app tokens use the gho_ prefix.",
    ],
  },
  {
    rule: "github_app_token",
    positives: [
      {
        text:
          '{"token":"ghs_VntbzbqxMDWmHIEAEt0PqG38YpKYvPIDy6bX","expires_at":"2025-01-14T11:22:31Z","permissions":{"contents":"read"}}',
        secret: "ghs_VntbzbqxMDWmHIEAEt0PqG38YpKYvPIDy6bX",
      },
      {
        text:
          "origin\thttps://x-access-token:ghs_i9oKR7tBekv9HeETjj4c5NH40h2eyVFZ0uOY@github.com/acme/api.git (fetch)",
        secret: "ghs_i9oKR7tBekv9HeETjj4c5NH40h2eyVFZ0uOY",
      },
      {
        text:
          "2025-01-14T10:22:31Z INFO octokit: user-to-server token ghu_qePgBPcRYPISeacPgnNgbZ91i37qv2779x6k refreshed for octocat",
        secret: "ghu_qePgBPcRYPISeacPgnNgbZ91i37qv2779x6k",
      },
      {
        text:
          "GITHUB_ACTIONS=true\nGITHUB_TOKEN=ghs_gAdwBLD4dROk5We2oTYGmCXaiLjSdbPHHuDR\nRUNNER_OS=Linux",
        secret: "ghs_gAdwBLD4dROk5We2oTYGmCXaiLjSdbPHHuDR",
      },
    ],
    negatives: [
      "  GITHUB_TOKEN: ***",
      "          token: ${{ steps.app-token.outputs.token }}",
    ],
  },
  {
    rule: "github_refresh_token",
    positives: [
      {
        text:
          '{"access_token":"ghu_LEwdmFtCEfpBG3SZ9Xn2o4vCrJ2bWzGYhIwK","expires_in":28800,"refresh_token":"ghr_jeKcRucawsjTZB0kLPt4ZiwHpHXnDGeXWrqk","refresh_token_expires_in":15811200,"token_type":"bearer"}',
        secret: "ghr_jeKcRucawsjTZB0kLPt4ZiwHpHXnDGeXWrqk",
      },
      {
        text: "GITHUB_APP_REFRESH_TOKEN=ghr_CiBtJHzKB9KyZGJiR6jkKd4oEFHCuLIdMMDM",
        secret: "ghr_CiBtJHzKB9KyZGJiR6jkKd4oEFHCuLIdMMDM",
      },
      {
        text:
          "DEBUG github-app: exchanging ghr_G9qHhDbLAzrEDAfdCjGplYSh0LXPpcaz4EwU for a new user token",
        secret: "ghr_G9qHhDbLAzrEDAfdCjGplYSh0LXPpcaz4EwU",
      },
    ],
    negatives: [
      '{"refresh_token_expires_in": 15811200, "token_type": "bearer"}',
      "Refresh tokens (ghr_) are single-use.",
    ],
  },
  {
    rule: "gitlab_token",
    positives: [
      {
        text:
          'curl --header "PRIVATE-TOKEN: glpat-1t4l4sN3wmwNJxJJHIrC" "https://gitlab.com/api/v4/projects?owned=true"',
        secret: "glpat-1t4l4sN3wmwNJxJJHIrC",
      },
      {
        text:
          "$ gitlab-runner register --non-interactive --url https://gitlab.acme.dev --token glrt-Ic08tMphxSubkT6mF6Cg --executor docker",
        secret: "glrt-Ic08tMphxSubkT6mF6Cg",
      },
      {
        text:
          "curl -X POST --fail -F token=glptt-a6bc245c72d7054bdb31d434f8becade7ff1fcaa -F ref=main https://gitlab.com/api/v4/projects/4812/trigger/pipeline",
        secret: "glptt-a6bc245c72d7054bdb31d434f8becade7ff1fcaa",
      },
      {
        text:
          "$ docker login registry.gitlab.com -u gitlab+deploy-token-17 -p gldt-5THrfarmiNizBMS2778Y",
        secret: "gldt-5THrfarmiNizBMS2778Y",
      },
      {
        text: "Fetching artifacts with job token glcbt-f0_qq2SA1kLrGeGbvsMD5Nb from project 4812",
        secret: "glcbt-f0_qq2SA1kLrGeGbvsMD5Nb",
      },
      {
        text: "https://gitlab.com/acme/api.atom?feed_token=glft-W72VKnggY2BnPcxIu22j",
        secret: "glft-W72VKnggY2BnPcxIu22j",
      },
      {
        text: "GITLAB_SCIM_TOKEN=glsoat-PO1vXhMCxaZ7tSf2uRae",
        secret: "glsoat-PO1vXhMCxaZ7tSf2uRae",
      },
      {
        text:
          "git remote add origin https://oauth2:glpat-2rA5_nhJQMcbHtSUe2vyV9jlubOW_OKcqbiMGP.01b6cs4bl@gitlab.com/acme/infra.git",
        secret: "glpat-2rA5_nhJQMcbHtSUe2vyV9jlubOW_OKcqbiMGP.01b6cs4bl",
      },
    ],
    negatives: [
      "GitLab personal access tokens are prefixed with glpat- since 14.5.",
      'curl --header "JOB-TOKEN: $CI_JOB_TOKEN" "${CI_API_V4_URL}/projects/${CI_PROJECT_ID}/packages"',
    ],
  },
  {
    rule: "slack_token",
    positives: [
      {
        text:
          "SLACK_BOT_TOKEN=xoxb-49330983376-4534538881353-sa2hqccOgjx9nUWwEQl3kYvr\nSLACK_SIGNING_SECRET_FILE=/run/secrets/slack",
        secret: "xoxb-49330983376-4534538881353-sa2hqccOgjx9nUWwEQl3kYvr",
      },
      {
        text:
          'client = WebClient(token="xoxp-40497108013-24619059998-9416012129573-0b5dc57d94876bdc86e1bbd97eddd5b8")',
        secret: "xoxp-40497108013-24619059998-9416012129573-0b5dc57d94876bdc86e1bbd97eddd5b8",
      },
      {
        text:
          "curl -s -d token=xoxa-2-qpbHu1LydU6uHxn3V6gzhlNZg2pJncdT9VFo5kIi https://slack.com/api/auth.test",
        secret: "xoxa-2-qpbHu1LydU6uHxn3V6gzhlNZg2pJncdT9VFo5kIi",
      },
      {
        text:
          '{"ok":true,"refresh_token":"xoxr-78eKIQHFvsFpfkHx6chnX2eyoZrkxIuc9B1LgRz5gjjO","expires_in":43200}',
        secret: "xoxr-78eKIQHFvsFpfkHx6chnX2eyoZrkxIuc9B1LgRz5gjjO",
      },
      {
        text:
          "legacy workspace token xoxs-1872744946-80763789529-7177554547768-b241973bc957c7bf9fe939c9053428d63bfbd62df96dac22efaf8c72bc902757 still in use by cron",
        secret:
          "xoxs-1872744946-80763789529-7177554547768-b241973bc957c7bf9fe939c9053428d63bfbd62df96dac22efaf8c72bc902757",
      },
      {
        text:
          "slack:\n  config_refresh_token: xoxe-1-EBI48YTXZFWKLLU4PVG26VEYE9LXV5OAE92N90TQCXHJ0B1AQ56ZABXSG7YR6L4EW9BUSOFECTGYA7O83KNES9WYF0UDI54L5JS95ED4CFUH2LO3JAEZKE75QS2VFSR339IKJQU1EXS1DR9IGL",
        secret:
          "xoxe-1-EBI48YTXZFWKLLU4PVG26VEYE9LXV5OAE92N90TQCXHJ0B1AQ56ZABXSG7YR6L4EW9BUSOFECTGYA7O83KNES9WYF0UDI54L5JS95ED4CFUH2LO3JAEZKE75QS2VFSR339IKJQU1EXS1DR9IGL",
      },
      {
        text:
          "[INFO] socket_mode: connecting with app-level token xapp-1-ALDAXJ4UWSL-8252879450525-e149f84e64d5442be467c9e69230ad732eb961cb2d15079912cf7f51f0c46632",
        secret:
          "xapp-1-ALDAXJ4UWSL-8252879450525-e149f84e64d5442be467c9e69230ad732eb961cb2d15079912cf7f51f0c46632",
      },
    ],
    negatives: [
      "Bot tokens start with xoxb- and user tokens with xoxp-.",
      "SLACK_BOT_TOKEN=${SLACK_BOT_TOKEN}",
    ],
  },
  {
    rule: "slack_webhook",
    positives: [
      {
        text:
          "curl -X POST -H 'Content-type: application/json' --data '{\"text\":\"deploy ok\"}' https://hooks.slack.com/services/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",
        secret: "https://hooks.slack.com/services/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",
      },
      {
        text:
          "SLACK_WEBHOOK_URL=https://hooks.slack.com/services/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",
        secret: "https://hooks.slack.com/services/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",
      },
      {
        text:
          "receivers:\n  - name: oncall\n    slack_configs:\n      - api_url: 'https://hooks.slack.com/services/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'\n        channel: '#alerts'",
        secret: "https://hooks.slack.com/services/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",
      },
    ],
    negatives: [
      "Incoming webhooks post to https://hooks.slack.com/services/... (see https://api.slack.com/messaging/webhooks).",
      "webhook_url: ${{ secrets.SLACK_WEBHOOK_URL }}",
    ],
  },
  {
    rule: "telegram_bot_token",
    positives: [
      {
        text:
          'curl -s "https://api.telegram.org/bot25554978:AAsLk23lK25MYetgcPZI9Db7-YMZxEDGEJP/sendMessage" -d chat_id=-1001873264519 -d text="deploy ok"',
        secret: "25554978:AAsLk23lK25MYetgcPZI9Db7-YMZxEDGEJP",
      },
      {
        text: "TELEGRAM_BOT_TOKEN=838612414:AAhYKmoy96bkJkhb_FqvQm_JSdiF-s9sW8X",
        secret: "838612414:AAhYKmoy96bkJkhb_FqvQm_JSdiF-s9sW8X",
      },
      {
        text:
          'app = Application.builder().token("60547949:AA_ss_MgN8JhhMFa636mVmUXWLUS1VUM2nR").build()',
        secret: "60547949:AA_ss_MgN8JhhMFa636mVmUXWLUS1VUM2nR",
      },
    ],
    negatives: [
      "GET https://api.telegram.org/bot<token>/getMe",
      "2025-01-14 10:22:31,482 INFO chat_id=-1001873264519 message_id=48213",
    ],
  },
  {
    rule: "stripe_secret_key",
    positives: [
      {
        text:
          "STRIPE_SECRET_KEY=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\nSTRIPE_PUBLISHABLE_KEY=pk_live_51a23IejNL5hyLgUPZWNirpxAQGczMThfpE6bFIahfraRNOvXNUVxWp4rVz7kuSn2X4X6dFyNmhNB2dkuEcdvMLB8b9WuRymYc7",
        secret:
          "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",
      },
      {
        text:
          "curl https://api.stripe.com/v1/charges -u sk_test_gU0mQMABcF1FHApDKx3fKvdV: -d amount=2000 -d currency=eur",
        secret: "sk_test_gU0mQMABcF1FHApDKx3fKvdV",
      },
      {
        text:
          'stripe.api_key = "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"',
        secret:
          "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",
      },
      {
        text:
          'const stripe = new Stripe("rk_test_f4UueGAK0WEsppodwzH3cvjg0dVZ3qO3", { apiVersion: "2024-12-18.acacia" });',
        secret: "rk_test_f4UueGAK0WEsppodwzH3cvjg0dVZ3qO3",
      },
    ],
    negatives: [
      'const stripePromise = loadStripe("pk_live_51a23IejNL5hyLgUPZWNirpxAQGczMThfpE6bFIahfraRNOvXNUVxWp4rVz7kuSn2X4X6dFyNmhNB2dkuEcdvMLB8b9WuRymYc7");',
      "StripeAuthenticationError: Invalid API Key provided: sk_test_********************h4Xw",
    ],
  },
  {
    rule: "stripe_webhook_secret",
    positives: [
      {
        text:
          "> Ready! You are using Stripe API Version [2024-12-18.acacia]. Your webhook signing secret is whsec_lBrg6oxBDlopuus3TynywvR9WoLh5vM6 (^C to quit)",
        secret: "whsec_lBrg6oxBDlopuus3TynywvR9WoLh5vM6",
      },
      {
        text: "STRIPE_WEBHOOK_SECRET=whsec_OYg4qUbSNyTge2uq80Nb5hz07X3R6hFO",
        secret: "whsec_OYg4qUbSNyTge2uq80Nb5hz07X3R6hFO",
      },
      {
        text:
          'const event = stripe.webhooks.constructEvent(body, sig, "whsec_kCE5ezcs9VFvOcyiMwlQoiQIAfPygLKgslbhdNK1");',
        secret: "whsec_kCE5ezcs9VFvOcyiMwlQoiQIAfPygLKgslbhdNK1",
      },
    ],
    negatives: [
      "const endpointSecret = process.env.STRIPE_WEBHOOK_SECRET;",
      "Webhook signing secrets start with whsec_ and are per endpoint.",
    ],
  },
  {
    rule: "anthropic_api_key",
    positives: [
      {
        text:
          "export ANTHROPIC_API_KEY=sk-ant-api03-LfPZn7Nx4X2YDLLzReNno9HbaQmpNbCKbdTA_XvFCh9rZlMmzv5Iisw3_EsYiKAJAgS4ssLX-MNWxQVQuys9Bmhg7w06ZAA",
        secret:
          "sk-ant-api03-LfPZn7Nx4X2YDLLzReNno9HbaQmpNbCKbdTA_XvFCh9rZlMmzv5Iisw3_EsYiKAJAgS4ssLX-MNWxQVQuys9Bmhg7w06ZAA",
      },
      {
        text:
          'curl https://api.anthropic.com/v1/messages -H "x-api-key: sk-ant-api03-vXF5ldoYrX_la-dfyJ4CUMjZ8ux7XKWl9-EtTQuOZw_KN12Dd8PHWKMGdy06lRgDypBdFsXnz3hFAj35WUFnYr6YtdfUbAA" -H "anthropic-version: 2023-06-01"',
        secret:
          "sk-ant-api03-vXF5ldoYrX_la-dfyJ4CUMjZ8ux7XKWl9-EtTQuOZw_KN12Dd8PHWKMGdy06lRgDypBdFsXnz3hFAj35WUFnYr6YtdfUbAA",
      },
      {
        text:
          'curl "https://api.anthropic.com/v1/organizations/workspaces" --header "x-api-key: sk-ant-admin01-pMG2i2qA7GMy4Ausht4d8SJok198poK72zJ9OfrggJo2W_mVE14uYEBf4bpJgPIiDZ5UcPzTuF9rHqX0BcZzsLVeXHSwbAA"',
        secret:
          "sk-ant-admin01-pMG2i2qA7GMy4Ausht4d8SJok198poK72zJ9OfrggJo2W_mVE14uYEBf4bpJgPIiDZ5UcPzTuF9rHqX0BcZzsLVeXHSwbAA",
      },
      {
        text:
          '{\n  "env": {\n    "ANTHROPIC_API_KEY": "sk-ant-api03-E3Ll7gzFvMDbrn0SG46rA8aFSdaGG6RCwKuBu3Z_RM-cjk1BCDzp3wSM16iJi8JyKxvzRmKl8Pi9L8sgM4THM3vt7PSPIAA",\n    "CLAUDE_CODE_ENABLE_TELEMETRY": "1"\n  }\n}',
        secret:
          "sk-ant-api03-E3Ll7gzFvMDbrn0SG46rA8aFSdaGG6RCwKuBu3Z_RM-cjk1BCDzp3wSM16iJi8JyKxvzRmKl8Pi9L8sgM4THM3vt7PSPIAA",
      },
    ],
    negatives: [
      "Error: ANTHROPIC_API_KEY environment variable is not set",
      '{"model": "claude-sonnet-4-5-20250929", "max_tokens": 1024}',
      "Anthropic keys look like sk-ant-api03-… and are shown once in the console.",
    ],
  },
  {
    rule: "openai_api_key",
    positives: [
      {
        text:
          "export OPENAI_API_KEY=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",
        secret:
          "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",
      },
      {
        text:
          'client = OpenAI(api_key="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")',
        secret:
          "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",
      },
      {
        text:
          'curl https://api.openai.com/v1/organization/users -H "Authorization: Bearer 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"',
        secret:
          "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",
      },
      {
        text: 'openai.api_key = "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"',
        secret: "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",
      },
      {
        text:
          "2025-01-14T10:22:31Z INFO llm: calling gpt-4o with key 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",
        secret: "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",
      },
    ],
    negatives: [
      "openai.AuthenticationError: Error code: 401 - Incorrect API key provided: sk-proj-********************************************W3xQ. You can find your API key at https://platform.openai.com/account/api-keys.",
      "OPENAI_API_KEY=",
      '<div class="sk-skeleton sk-card"></div>',
    ],
  },
  {
    rule: "huggingface_token",
    positives: [
      {
        text:
          "$ huggingface-cli login --token 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\nToken is valid (permission: write).",
        secret: "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",
      },
      {
        text: "HF_TOKEN=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",
        secret: "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",
      },
      {
        text: 'from huggingface_hub import login\nlogin("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")',
        secret: "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",
      },
      {
        text:
          "git clone https://acme-bot: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@huggingface.co/acme/ranker-v2",
        secret: "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",
      },
    ],
    negatives: [
      'path = hf_hub_download(repo_id="acme/ranker-v2", filename="config.json")',
      "HF_HUB_ENABLE_HF_TRANSFER=1",
    ],
  },
  {
    rule: "npm_token",
    positives: [
      {
        text: "//registry.npmjs.org/:_authToken=npm_hUTYcSSGE23LcvbtPmSMZdh0piuVqvetAAJW",
        secret: "npm_hUTYcSSGE23LcvbtPmSMZdh0piuVqvetAAJW",
      },
      {
        text: "$ NPM_TOKEN=npm_Q9lVJuxB8qfUfEdhXWrSnC9s1vBELBLRs7MR npm publish --access public",
        secret: "npm_Q9lVJuxB8qfUfEdhXWrSnC9s1vBELBLRs7MR",
      },
      {
        text:
          'npmRegistries:\n  "https://registry.npmjs.org":\n    npmAuthToken: "npm_XF83fhoE0dEY3ZV0AHqgSTyevleon9yZKvQ5"',
        secret: "npm_XF83fhoE0dEY3ZV0AHqgSTyevleon9yZKvQ5",
      },
      {
        text: "│ npm_JvLZW1jY7TNYStexFnomaQABb3CB6ameGLLG │ publish │ 2025-01-14 │",
        secret: "npm_JvLZW1jY7TNYStexFnomaQABb3CB6ameGLLG",
      },
    ],
    negatives: [
      "//registry.npmjs.org/:_authToken=${NPM_TOKEN}",
      "npm_lifecycle_event=build\nnpm_package_version=1.4.2\nnpm_config_cache=~/.npm",
    ],
  },
  {
    rule: "pypi_token",
    positives: [
      {
        text:
          "$ poetry config pypi-token.pypi pypi-AgEIcHlwaS5vcmcIGTDUnSgQe-WcQVe9MAnRFBuwvjiz2Al9757FK2W-ee3Rzc0xXHEHxkDPI_tzK6ZYt9DMqicn4YpUwsiQA9ekLbPg65yNVqU8khuD2Er38i0CM3x6SopNIbVcZDQFODjPE5KU25SJzDtLI1IwPwjYeymzTsMoJUQ",
        secret:
          "pypi-AgEIcHlwaS5vcmcIGTDUnSgQe-WcQVe9MAnRFBuwvjiz2Al9757FK2W-ee3Rzc0xXHEHxkDPI_tzK6ZYt9DMqicn4YpUwsiQA9ekLbPg65yNVqU8khuD2Er38i0CM3x6SopNIbVcZDQFODjPE5KU25SJzDtLI1IwPwjYeymzTsMoJUQ",
      },
      {
        text:
          "[pypi]\n  username = __token__\n  password = pypi-AgEIcHlwaS5vcmc9ju-xFJoU5xX3g8esLwsnzBsChqa0O8q9D6pm2VWrbh6nBurYABs32OhHPq361LoSJjxnQM-KpkCo_w0pG5HIj1HNzdcNKwhL2uYtty5DoXojyOqji3GmuAHS6slu6bhq55KU-7IqjYs",
        secret:
          "pypi-AgEIcHlwaS5vcmc9ju-xFJoU5xX3g8esLwsnzBsChqa0O8q9D6pm2VWrbh6nBurYABs32OhHPq361LoSJjxnQM-KpkCo_w0pG5HIj1HNzdcNKwhL2uYtty5DoXojyOqji3GmuAHS6slu6bhq55KU-7IqjYs",
      },
      {
        text:
          "$ uv publish --token pypi-AgEIcHlwaS5vcmcjgqWOD7Qp2KJzI2TRUKkkVdPAtTblnmc7QNNGhLVPzCeucN_AFc73XXfStaE2KTsFb_Yp5P_NihYxT_4oVVuOSpYDhW4210VvzxPbSb4DCcAKOLV22wx-Sh9XM7BFIxbTyX-Rn_2jmQR89Y8JuPLTk",
        secret:
          "pypi-AgEIcHlwaS5vcmcjgqWOD7Qp2KJzI2TRUKkkVdPAtTblnmc7QNNGhLVPzCeucN_AFc73XXfStaE2KTsFb_Yp5P_NihYxT_4oVVuOSpYDhW4210VvzxPbSb4DCcAKOLV22wx-Sh9XM7BFIxbTyX-Rn_2jmQR89Y8JuPLTk",
      },
      {
        text:
          "TWINE_USERNAME=__token__\nTWINE_PASSWORD=pypi-AgEIcHlwaS5vcmcpmCPSRA0eCQDnEB_6DpJyny5chGEjfe1xxEI3DvYJRhD0W19R-Sds26wHp_Y5lIEIaAgEUBEhPKgsR_wP2k9t49YoP",
        secret:
          "pypi-AgEIcHlwaS5vcmcpmCPSRA0eCQDnEB_6DpJyny5chGEjfe1xxEI3DvYJRhD0W19R-Sds26wHp_Y5lIEIaAgEUBEhPKgsR_wP2k9t49YoP",
      },
    ],
    negatives: [
      "[pypi]\n  username = __token__",
      "Successfully installed pypi-simple-1.6.0",
    ],
  },
  {
    rule: "sendgrid_api_key",
    positives: [
      {
        text:
          "SENDGRID_API_KEY=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",
        secret: "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",
      },
      {
        text:
          'sg = SendGridAPIClient("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")\nresponse = sg.send(message)',
        secret: "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",
      },
      {
        text:
          "smtp:\n  host: smtp.sendgrid.net\n  user: apikey\n  pass: 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",
        secret: "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",
      },
    ],
    negatives: [
      "response = sg.send(message)",
      "SendGrid keys start with SG. and are 69 characters long.",
      '"@sendgrid/mail": "^8.1.4"',
    ],
  },
  {
    rule: "twilio_api_key",
    positives: [
      {
        text:
          "TWILIO_API_KEY=SK084d2a12ba39b722d1e9fb9472f7e578\nTWILIO_ACCOUNT_SID=AC3ff7e04b6ea7dad2d4176b6e9b76277b",
        secret: "SK084d2a12ba39b722d1e9fb9472f7e578",
      },
      {
        text: 'client = Client("SKb6f3c1ee60f4d6a35b7a22034ea676c9", api_secret, account_sid)',
        secret: "SKb6f3c1ee60f4d6a35b7a22034ea676c9",
      },
      {
        text: "twilio: creating client for key SK77bcaa9b4c85513c3b3b0d4b4d9a91e5 (region us1)",
        secret: "SK77bcaa9b4c85513c3b3b0d4b4d9a91e5",
      },
    ],
    negatives: [
      "TWILIO_ACCOUNT_SID=AC3ff7e04b6ea7dad2d4176b6e9b76277b",
      '{"sid": "SM6721c7c81a37b912067956597bdba231", "messaging_service_sid": "MGed442f0b4b1e67f04490856a99ee3ff1", "status": "queued"}',
    ],
  },
  {
    rule: "databricks_token",
    positives: [
      {
        text:
          "[DEFAULT]\nhost  = https://adb-4812736459201837.7.azuredatabricks.net\ntoken = dapid506e42fa53aa0ff17ca04289e36bc58",
        secret: "dapid506e42fa53aa0ff17ca04289e36bc58",
      },
      {
        text: "export DATABRICKS_TOKEN=dapid3771d769fabace42d040ae817270b22-2",
        secret: "dapid3771d769fabace42d040ae817270b22-2",
      },
      {
        text:
          'conn = sql.connect(server_hostname=host, http_path="/sql/1.0/warehouses/8c1d2e3f4a5b6c7d", access_token="dapib2d1848fa5c4d7941c956176d0025aa7")',
        secret: "dapib2d1848fa5c4d7941c956176d0025aa7",
      },
      {
        text:
          "ERROR databricks-sdk: 403 Forbidden for PAT dapi7b376b3705779d6986e3922bfcd43c53 on /api/2.1/jobs/list",
        secret: "dapi7b376b3705779d6986e3922bfcd43c53",
      },
    ],
    negatives: [
      "DATABRICKS_HOST=https://adb-4812736459201837.7.azuredatabricks.net",
      "          DATABRICKS_TOKEN: ${{ secrets.DATABRICKS_TOKEN }}",
    ],
  },
  {
    rule: "shopify_token",
    positives: [
      {
        text:
          'curl -H "X-Shopify-Access-Token: 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" https://acme-store.myshopify.com/admin/api/2025-01/products.json',
        secret: "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",
      },
      {
        text: "SHOPIFY_API_SECRET=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",
        secret: "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",
      },
      {
        text:
          'session = shopify.Session("acme-store.myshopify.com", "2025-01", "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")',
        secret: "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",
      },
      {
        text: "INFO shopify: installed custom app, token 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",
        secret: "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",
      },
    ],
    negatives: [
      'curl -H "X-Shopify-Access-Token: $SHOPIFY_TOKEN" https://acme-store.myshopify.com/admin/api/2025-01/shop.json',
      "SHOPIFY_STORE_DOMAIN=acme-store.myshopify.com",
    ],
  },
  {
    rule: "url_credentials",
    positives: [
      {
        text:
          "DATABASE_URL=postgres://app_user:wpwZRTbcRL440XtL@db.internal:5432/orders?sslmode=require",
        secret: "wpwZRTbcRL440XtL",
      },
      {
        text:
          "services:\n  api:\n    environment:\n      - MYSQL_URL=mysql://root:eRtpXnfZmhKHS2abrIt8@mysql:3306/app",
        secret: "eRtpXnfZmhKHS2abrIt8",
      },
      {
        text: "REDIS_URL=redis://:OYpdbKncv1LiL9DlHrtn4ZXa@cache.internal:6379/0",
        secret: "OYpdbKncv1LiL9DlHrtn4ZXa",
      },
      {
        text: 'pika.URLParameters("amqp://worker:aJGJm2Fpo7gpRW@rabbitmq:5672/%2F")',
        secret: "aJGJm2Fpo7gpRW",
      },
      {
        text:
          "MongoServerSelectionError: connection timed out\n    at Topology.selectServer (node_modules/mongodb/lib/sdam/topology.js:303:38)\n  uri: 'mongodb+srv://admin:2QMUJGNgUVZzsXfpAt@cluster0.ab1cd.mongodb.net/app?retryWrites=true&w=majority'",
        secret: "2QMUJGNgUVZzsXfpAt",
      },
      {
        text:
          "$ git remote -v\norigin\thttps://deploy-bot:84W0NX2brZSArqP1AZSucI@git.acme.dev/platform/api.git (fetch)\norigin\thttps://deploy-bot:84W0NX2brZSArqP1AZSucI@git.acme.dev/platform/api.git (push)",
        secret: "84W0NX2brZSArqP1AZSucI",
      },
      {
        text:
          "psql 'postgresql://reporting:Rg2T6jWA%21EB25SSfR@10.0.3.14:5432/warehouse' -c 'select 1'",
        secret: "Rg2T6jWA%21EB25SSfR",
      },
    ],
    negatives: [
      "$ git remote -v\norigin\tgit@github.com:acme/app.git (fetch)\norigin\tgit@github.com:acme/app.git (push)",
      "git clone https://github.com/acme/app.git",
      "git clone https://deploy-bot@10.0.4.12/platform/api.git",
      "DATABASE_URL=postgres://db.internal:5432/orders",
      "curl http://[::1]:8080/healthz",
    ],
  },
  {
    rule: "authorization_header",
    positives: [
      {
        text:
          'curl -sS -H "Authorization: Bearer AEW9zbLaBdAHBru0GKhN3rDVvoSzPkXW7MUYlFQW" https://api.acme.dev/v2/orders',
        secret: "AEW9zbLaBdAHBru0GKhN3rDVvoSzPkXW7MUYlFQW",
      },
      {
        text:
          "> GET /v1/repos HTTP/1.1\n> Host: api.acme.dev\n> User-Agent: curl/8.5.0\n> Authorization: Basic Y2ktYm90Ok1kVFFXcHFmYzNjZkM1STZFbQ==\n> Accept: */*",
        secret: "Y2ktYm90Ok1kVFFXcHFmYzNjZkM1STZFbQ==",
      },
      {
        text:
          '{"url": "https://api.acme.dev/v1/hooks", "headers": {"Authorization": "Bearer LgscT9taeuz3bigwbYjw2ZLH1I-tURd7QcsrYhNiQETLMIqR", "Content-Type": "application/json"}}',
        secret: "LgscT9taeuz3bigwbYjw2ZLH1I-tURd7QcsrYhNiQETLMIqR",
      },
      {
        text:
          "curl -H 'Authorization: token d48928d1e3d12d8d9ad7bc6a3d263ab1675ceb14' https://ghe.acme.dev/api/v3/user",
        secret: "d48928d1e3d12d8d9ad7bc6a3d263ab1675ceb14",
      },
      {
        text:
          "* [HTTP/2] [1] [:path: /v1/me]\n* [HTTP/2] [1] [authorization: Bearer HtmVk7jsEwh95hjZEEfmkM16uQAJFQg7NT5Ax1Ir7tQj]",
        secret: "HtmVk7jsEwh95hjZEEfmkM16uQAJFQg7NT5Ax1Ir7tQj",
      },
    ],
    negatives: [
      "The Authorization header is required; requests without it get 401.",
      'curl -H "Authorization: Bearer $GITHUB_TOKEN" https://api.github.com/user',
      "headers: { Authorization: `Bearer ${token}` },",
      'headers={"Authorization": f"Bearer {token}"}',
    ],
  },
  {
    rule: "bearer_token",
    positives: [
      {
        text:
          "2025-01-14T10:22:31Z DEBUG http: retrying with credentials Bearer IQ0bT0b3hp4Wp5A6EBgTpclzBWZXsM8OS-Ve",
        secret: "IQ0bT0b3hp4Wp5A6EBgTpclzBWZXsM8OS-Ve",
      },
      {
        text: 'session.headers["Authorization"] = "Bearer FXtyGOMhmJfs5PMv4tsalHACHnZ1Ehq3"',
        secret: "FXtyGOMhmJfs5PMv4tsalHACHnZ1Ehq3",
      },
      {
        text:
          'const res = await fetch(url, { headers: [["Authorization", "Bearer FI7RJ4a2eF6h6pk6QvuIRO94PknR01CGlwaF4PyP"]] });',
        secret: "FI7RJ4a2eF6h6pk6QvuIRO94PknR01CGlwaF4PyP",
      },
      {
        text:
          'grafana:\n  datasource:\n    httpHeaderValue1: "Bearer WYzQwNTNOrzpelqyuBjLzlN4iHEy"',
        secret: "WYzQwNTNOrzpelqyuBjLzlN4iHEy",
      },
    ],
    negatives: [
      '{"token_type": "Bearer", "expires_in": 3600, "scope": "read"}',
      'WWW-Authenticate: Bearer realm="api", error="invalid_token"',
      "Send the access token as a Bearer token in the Authorization header.",
      "Bearer ${accessToken}",
    ],
  },
  {
    rule: "password_flag",
    positives: [
      { text: "mysql -h db.internal -u admin -p4vBTq3W1yNQTGo orders", secret: "4vBTq3W1yNQTGo" },
      {
        text: "sshpass -p 'D2H1VuJDXUMm' ssh -o StrictHostKeyChecking=no deploy@10.0.4.12",
        secret: "D2H1VuJDXUMm",
      },
      {
        text: "curl -u admin:bwNFi4jBfyCOFNx8 https://jenkins.acme.dev/api/json",
        secret: "bwNFi4jBfyCOFNx8",
      },
      {
        text: "./scripts/restore.sh --password=HHLyRAl9vXWHWP2UwX --env prod",
        secret: "HHLyRAl9vXWHWP2UwX",
      },
      {
        text:
          "argocd login argocd.acme.dev --username admin --password aIHZVN5IvGOdTRhWmhQm --grpc-web",
        secret: "aIHZVN5IvGOdTRhWmhQm",
      },
      {
        text:
          "datadog-ci sourcemaps upload ./dist --api-key vFZnyQ3S6oPFjgA8PV89VUZRWCPwlTss --service web",
        secret: "vFZnyQ3S6oPFjgA8PV89VUZRWCPwlTss",
      },
      {
        text: "sentry-cli --auth-token 9efGQrtTOQoW4KzCZvuQSuZZ releases new 1.4.2",
        secret: "9efGQrtTOQoW4KzCZvuQSuZZ",
      },
      {
        text: "vercel deploy --prod --token msi6UfioaQ1E1dMNgbtLvN",
        secret: "msi6UfioaQ1E1dMNgbtLvN",
      },
      {
        text:
          "az login --service-principal -u 5e0c9a7d-2b41-4f6e-9c3a-8d1b7e2f4a60 --client-secret acfTieojmCDS8ku7 --tenant acme.onmicrosoft.com",
        secret: "acfTieojmCDS8ku7",
      },
      {
        text: "./bin/sign-release --key-id k1 --secret R7NamxfYc7OikK8 dist/app.tar.gz",
        secret: "R7NamxfYc7OikK8",
      },
      {
        text: "smbclient //fs01/share -U svc-backup --pass MKp9DhcEI55RmF9LbHkshP8OvC -c 'ls'",
        secret: "MKp9DhcEI55RmF9LbHkshP8OvC",
      },
    ],
    negatives: [
      'echo "$CR_PAT" | docker login ghcr.io -u octocat --password-stdin',
      "psql --no-password -h db.internal -U app orders",
      "ssh -p 2222 deploy@10.0.4.12",
      "docker run -d -p 8080:80 nginx:1.27",
      "mysql -u root -p",
      "curl -u admin https://jenkins.acme.dev/api/json",
    ],
  },
  {
    rule: "secret_assignment",
    positives: [
      { text: "DB_PASSWORD=IHcEsr1.cwTAPVe7Lx", secret: "IHcEsr1.cwTAPVe7Lx" },
      {
        text: 'export API_KEY="Z2wxbBsIlY0xtQw7MyJ16ux7FvIraeB7"',
        secret: "Z2wxbBsIlY0xtQw7MyJ16ux7FvIraeB7",
      },
      {
        text:
          "oauth:\n  client_id: web-dashboard\n  client_secret: hJFbtw23D5OgAsZS3yVfBS1dOmCBcHHEdPNBg3Ph",
        secret: "hJFbtw23D5OgAsZS3yVfBS1dOmCBcHHEdPNBg3Ph",
      },
      {
        text: '{\n  "service": "geocoder",\n  "apiKey": "DZEkFtm50dRhXcH15XPhQCXumNRCSRWH"\n}',
        secret: "DZEkFtm50dRhXcH15XPhQCXumNRCSRWH",
      },
      {
        text: "SECRET_KEY = 'django-insecure-dkdcMU+hZ4nwqXKAONEzIhrcr6LeJCnwi13R8-9*Ok0eolD06X'",
        secret: "django-insecure-dkdcMU+hZ4nwqXKAONEzIhrcr6LeJCnwi13R8-9*Ok0eolD06X",
      },
      {
        text: 'const authToken = "cTtoocZMskRw9rn9j0oytEynqKShiPUzXazO";',
        secret: "cTtoocZMskRw9rn9j0oytEynqKShiPUzXazO",
      },
      {
        text: '[registry]\naccess-token = "XqlFijt5ATPr49Jcfp69ku8TMCWvey6oY2DUaXd7"',
        secret: "XqlFijt5ATPr49Jcfp69ku8TMCWvey6oY2DUaXd7",
      },
      {
        text:
          "$ env\nHOME=~\nREFRESH_TOKEN=25taC3tO25tjzfRXvegSaC4JUkOkcT9m0Rj0O6hu9lVGKmBf\nSHELL=/bin/bash",
        secret: "25taC3tO25tjzfRXvegSaC4JUkOkcT9m0Rj0O6hu9lVGKmBf",
      },
      {
        text: "PRIVATE_KEY=0xe485413a66603aef84116d51eb26c84aeff2d7869eb8da7f017d905184ad8343",
        secret: "e485413a66603aef84116d51eb26c84aeff2d7869eb8da7f017d905184ad8343",
      },
      {
        text:
          "Server=tcp:acme-sql.database.windows.net,1433;Database=orders;User ID=app;Pwd=kU7FWiVOESwMYbVDCgcX;Encrypt=True;",
        secret: "kU7FWiVOESwMYbVDCgcX",
      },
      { text: "[client]\nuser = backup\npasswd = NhcWxULbNDA4ypQa", secret: "NhcWxULbNDA4ypQa" },
      {
        text: "    environment:\n      AUTH_TOKEN: 'qgmPNsPfzcTXLQ6L6O5e3C5zy9DBeD9jGj0REtb0'",
        secret: "qgmPNsPfzcTXLQ6L6O5e3C5zy9DBeD9jGj0REtb0",
      },
      {
        text: "this.accessToken = 'ltA3iAcY0g6rOuwyk0KQJP9yyriZzW';",
        secret: "ltA3iAcY0g6rOuwyk0KQJP9yyriZzW",
      },
      {
        text: "spring.datasource.password=HyQMnrBoi9jIgFfhiAxiIE",
        secret: "HyQMnrBoi9jIgFfhiAxiIE",
      },
      { text: "SMTP_PASS=zWr60TSOUC3iz0sV", secret: "zWr60TSOUC3iz0sV" },
      {
        text: '"credentials": "D59//16Qa1sRfDBU9QE+b20/BsVySvtDONXqUtEHpnzIf7WzwSUUZWI9ywaXAPI2"',
        secret: "D59//16Qa1sRfDBU9QE+b20/BsVySvtDONXqUtEHpnzIf7WzwSUUZWI9ywaXAPI2",
      },
      { text: 'db:\n  password: "KAC^fYb7.db^oGj2Q!zN0N6x"', secret: "KAC^fYb7.db^oGj2Q!zN0N6x" },
      {
        text:
          "aws_session_token = LKRU4y1L3l4HQYEo_B99zcND5po41UJzmSWCRud5uw_u1ychcD1j1SSsUmqPlvPAd4lQsr3IelnuXzV9S6Cts69NxM2i4hxpgEq__M6r9Bc78bJM_9mwc0So",
        secret:
          "LKRU4y1L3l4HQYEo_B99zcND5po41UJzmSWCRud5uw_u1ychcD1j1SSsUmqPlvPAd4lQsr3IelnuXzV9S6Cts69NxM2i4hxpgEq__M6r9Bc78bJM_9mwc0So",
      },
      {
        text: "secret-key: mlFzwkyzG0dqjEio6bOqlcgF1QEbJv0Sp2Nu8DGTrjCs",
        secret: "mlFzwkyzG0dqjEio6bOqlcgF1QEbJv0Sp2Nu8DGTrjCs",
      },
    ],
    negatives: [
      "interface LoginForm {\n  username: string;\n  password: string;\n}",
      "const token = await getToken();",
      "const apiKey = process.env.API_KEY;",
      'token = os.environ["TOKEN"]',
      "password=$DB_PASSWORD",
      'psql "host=db.internal user=app password=${PGPASSWORD}"',
      "response = client.messages.create(model=model, max_tokens=4096, messages=messages)",
      "token_count: 812",
      '{"tokens": 1200, "truncated": false}',
      "PASSWORD_MIN_LENGTH=12",
      "Please enter your password to continue.",
      "      password: ${{ secrets.REGISTRY_PASSWORD }}",
      'password = getpass.getpass("Password: ")',
      "def verify_password(password: str, hashed: str) -> bool:",
      'if (!secret) throw new Error("missing secret");',
      'tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")',
    ],
  },
];

/** Strings that must never be altered by redaction in "standard" mode (precision). */
export const PRECISION_NEGATIVES: string[] = [
  "f1e3910458b938f9e57a208a9adca697e0daeccc",
  "commit f653d11be39e42e0943e57c73ce1be803768862a",
  "8cd7edc fix(auth): refresh token before expiry",
  "2e67175 (HEAD -> main, origin/main) feat(redact): add secret rules",
  "index f141b38..3bb7ce9 100644",
  "6f1c2a9e-3b7d-4c8e-9a2f-0d5e7b1c4f83",
  "01947a3c-5e2b-7d41-8f3a-9c2e6b1d0a47",
  '{"session_id":"0b6c1f9e-2d4a-4e8b-9f3c-7a1d5e2b8c40","transcript_path":"~/.claude/projects/-work-main/0b6c1f9e-2d4a-4e8b-9f3c-7a1d5e2b8c40.jsonl","hook_event_name":"PreToolUse"}',
  "046513b6082ad64192cf7bf3ddc20a8dd9295f017a7f798856dc9561ea12cef9  dist/app-1.4.2.tar.gz",
  "sha512: c907aa66d71f42aae41b0a175446542aeabd3931886fac5718def7eba813c36fccf0a3f89ae64bcbffb277e09d916568f09bbb739908dd5e43094f6e8e464c7d",
  '"integrity": "sha512-4c2WJAOxxawtxC5gw3CbIiZtJ92Xd0K4HmxB6Ypu8btECEY76WAqHMaJRIZk70UpLKnNwGtOZYj6hUP3ubtaIA=="',
  '      "resolved": "https://registry.npmjs.org/zod/-/zod-4.6.7.tgz",\n      "integrity": "sha512-xYZSLTOGAJQBOM2oKo6cuvgtqLR8KDHV7PDN7usJ9u6WYOyvvEi5F5wRiwvrC1D+2uf6NLpxKZDwzqS1/OW9Jg==",',
  'zod@^4.6.7:\n  version "4.6.7"\n  resolved "https://registry.yarnpkg.com/zod/-/zod-4.6.7.tgz#0031245862882ee913827580ccb028502efd52a1"\n  integrity sha512-VY9psJlyEytt68KFqdN3rQGa7jQY8ixe0LG5SXEcXzcOclsfZ143vBBbrFQVux5WcbJWvf3x2FzkEkpyuJOwTA==',
  "    resolution: {integrity: sha512-+0LTVN22hbScbcrv/fmj8dw/a6/ELPBCNwsM7MCq+l7zhl5ySai6ZBXQYsDGy4PbUWx/JMWthW8mWPTQWkgf0Q==}",
  '<script src="https://cdn.jsdelivr.net/npm/htmx.org@2.0.4" integrity="sha384-B+Er2s8fBvDPmY1O38mUs4updPpuF+jf65PkSUkyLCOsrEbYYTgm4VLRNDk309Yb" crossorigin="anonymous"></script>',
  "github.com/stretchr/testify v1.9.0 h1:Ap37ox/AC3mONgjQKTyvssZ5NmSt3UFYNzj0L0DWFqU=",
  'checksum = "444663079928080dacf49c64bb5ca5324729687fcc26e57eee4c24903fe60992"',
  "/work/main/node_modules/.deno/zod@4.6.7/node_modules/zod/v4/core/errors.js",
  ".next/static/chunks/app/page-fe9a233941f490c9.js",
  "~/.cache/deno/npm/registry.npmjs.org/prom-client/15.1.3/lib/registry.js",
  "Rotate the API key, update the secret in the vault, and never paste tokens or passwords into chat.",
  "The token expired; run `gh auth refresh` to get a new one.",
  "const token = getToken();",
  'const key = process.env.API_KEY ?? "";',
  "secret_key = os.environ['SECRET_KEY']",
  "from transformers import AutoTokenizer",
  "max_tokens: 1024",
  '{"input_tokens": 1832, "output_tokens": 412, "cache_read_input_tokens": 20480}',
  'className="btn-primary text-sm md:flex hover:bg-slate-700 focus-visible:ring-2"',
  'className="w-[calc(100%-2rem)] bg-[#1da1f2] grid-cols-[200px_minmax(900px,_1fr)_100px]"',
  "deno 2.1.4 (stable, release, x86_64-unknown-linux-gnu)\nv8 13.0.245.12-rusty\ntypescript 5.6.2",
  "2025-01-14T10:22:31.482Z",
  "2025-01-14T10:22:31+01:00",
  '{"type":"tool_use","id":"toolu_01NgKQdAFIs7WGY4Fgxgohtm","name":"Bash","input":{"command":"deno test"}}',
  '{"id":"msg_01pFGj1wB453QmX2sJisd4TT","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929"}',
  "request-id: req_011CBatgEx6mLJedBTYXpB4j",
  "ghcr.io/acme/api@sha256:e0821e70800352a1fab353574a104382592d4fc645f682200025c788e55e31a4",
  "FROM node:22-alpine@sha256:8bbeacbd73bcbb6ce38d1b94a1f0a81d1687ed2d4e4930c8dcd383b82245ef55",
  "color: #1f2937; background-color: #fafafa; border-color: #e5e7eb;",
  "1326874523489017856",
  "ok | 42 passed | 0 failed (1s)",
  "redact ... leaves git SHAs alone ... ok (3ms)",
  "interface Session {\n  id: string;\n  token: string;\n  refreshToken?: string;\n  expiresAt: number;\n}",
  "env:\n  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef:\n        name: postgres-credentials\n        key: password",
  "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQAIijjeKooeLJMCnAhFixXPaQ258ZD8pFHfh5gzwMQpeURZ0QHm/+H2RlHvWJWN35Lu2CKDo0WOIpKLi57lebBon+s+yjoCcecTVyqcivFWSi0wfZezA6C7MBsaMHjrDbFIUaaIWDVv1LqtB7c7VWVeqn8rjrVVDerjPplTGeJycInC3d9NWssomNwyj9C14dLyNGeLrnjQUPkp6VEEdt8GwHmsDOPG+efiNVnPk/WFigLVDqgFMXT7OOqz1RwuYGreYy9pgHzVe4gpiiAgJA82InMkOXfbZN73WYFEOf6ptsoNPrkcjKtw//pfFaMiW+F32W94iFYfsf3LXbhcXsdp dev@laptop",
  "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGyEbWodFLF2mH/D0j5Azuu/7ZTcrNHt9ORD+EIskBLC",
  "256 SHA256:XipSLuum7xkqWkca63bQcys4pFHu/iqH2OeQqQLDiGQ ci@acme (ED25519)",
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  "    at getSecret (/work/main/shared/secrets.ts:42:11)\n    at async main (/work/main/scripts/deploy.ts:17:3)",
  "traceparent: 00-b5f9267f685dbc1ea083a1e1f9486539-d03fd4f124633c65-01",
  "arn:aws:iam::123456789012:role/acme-deployer",
  "api-7d9f8c6b5-x2k4q   1/1     Running   0          3h12m",
  'localStorage.getItem("authToken")',
  "├── zod@4.6.7\n└── prom-client@15.1.3",
  "inet6 fe80::1c2d:3eff:fe4f:5a6b/64 scope link",
  "const TOKEN_RE = /ghp_[0-9A-Za-z]{36}/;",
  "https://www.google.com/search?q=rotate+leaked+api+key&hl=en",
  "git clone https://deploy-bot@git.acme.dev/platform/api.git",
];

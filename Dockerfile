# restorectl: the daemon (`restorectl run`) and the restore agent (`restorectl agent restore`, in the
# injected init-container or the restore Job) in one image, with restic from Debian.
#   docker build -t ghcr.io/restore-controller/restorectl:0.1.0 .

# Build: the TypeScript compiler is a dev dependency, so dist/ is made here.
FROM node:22-bookworm-slim AS build
WORKDIR /app
# The dev kit (packages/devkit, a workspace: sandbox, demo, test servers) is not in the build
# context, so npm skips it and the image holds only the product.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM node:22-bookworm-slim
# restic restores the snapshots; ca-certificates for HTTPS to git hosts and object stores;
# openssh-client for ssh:// git remotes (deploy keys). No git: the daemon speaks git itself.
# The clients of the built-in database restores (src/databases): psql and pg_isready
# (postgresql-client), mysql and mysqladmin for the MySQL and MariaDB tasks (mariadb-client),
# redis-cli (redis-tools).
RUN apt-get update \
 && apt-get install -y --no-install-recommends restic ca-certificates openssh-client postgresql-client mariadb-client redis-tools \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY bin ./bin
COPY deploy/crds ./deploy/crds
# bin/restorectl.js runs dist/cli/main.js when it exists.
COPY --from=build /app/dist ./dist
RUN ln -s /app/bin/restorectl.js /usr/local/bin/restorectl
# Read-only root filesystem friendly: HOME and scratch space are /tmp (an emptyDir in deploy/).
ENV HOME=/tmp
# ssh refuses to run for a uid without a passwd entry ("No user exists for uid").
RUN echo 'restorectl:x:65532:65532:restorectl:/tmp:/usr/sbin/nologin' >> /etc/passwd \
 && echo 'restorectl:x:65532:' >> /etc/group
USER 65532:65532
ENTRYPOINT ["restorectl"]
CMD ["--help"]

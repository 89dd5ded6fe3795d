# A stand-in for the official node:20-bookworm-slim image, made from Debian 12's packages for
# machines no registry serves (docker/smoke.sh builds it as cavra-node:18 when
# node:20-bookworm-slim cannot be pulled): Debian's Node.js 18, and the image's user
# `node` with its home /home/node, which is what docker/docker-compose.yml's idp service uses.
# No npm (Debian's pulls in some 300 packages): the idp service copies the checkout's
# tests/integration/idp/node_modules, which `bash scripts/deps.sh test` installs.
FROM debian:bookworm-slim
RUN apt-get update \
	&& apt-get install -y --no-install-recommends nodejs ca-certificates \
	&& rm -rf /var/lib/apt/lists/* \
	&& groupadd --gid 1000 node \
	&& useradd --uid 1000 --gid node --create-home --shell /bin/bash node
CMD ["node"]
